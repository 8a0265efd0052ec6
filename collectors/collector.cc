#include "collectors/collector.h"

#include <algorithm>
#include <cassert>

namespace nfct {

std::string_view Status::CodeName() const {
  switch (code_) {
    case Code::kOk:
      return "ok";
    case Code::kUnavailable:
      return "unavailable";
    case Code::kError:
      return "error";
  }
  return "error";
}

template <typename Values>
void FamilySink::AddSample(const FamilyDesc& desc, const Values& label_values, double value) {
  // A mismatch is a programming error in the collector; the declaration test catches it.
  assert(label_values.size() == desc.labels.size());
  auto family = std::find_if(families_.begin(), families_.end(),
                             [&](const auto& existing) { return existing.name == desc.name; });
  if (family == families_.end()) {
    family = families_.insert(families_.end(),
                              {std::string(desc.name), std::string(desc.help), desc.type, {}});
  }
  auto& sample = family->metric.emplace_back();
  size_t labels = std::min(desc.labels.size(), label_values.size());
  sample.label.reserve(labels);
  for (size_t i = 0; i < labels; ++i) {
    sample.label.push_back({std::string(desc.labels[i]), std::string(label_values.begin()[i])});
  }
  switch (desc.type) {
    case prometheus::MetricType::Counter:
      sample.counter.value = value;
      break;
    case prometheus::MetricType::Gauge:
      sample.gauge.value = value;
      break;
    default:
      sample.untyped.value = value;
      break;
  }
}

void FamilySink::Add(const FamilyDesc& desc, std::initializer_list<std::string_view> label_values,
                     double value) {
  AddSample(desc, label_values, value);
}

void FamilySink::Add(const FamilyDesc& desc, const std::vector<std::string>& label_values,
                     double value) {
  AddSample(desc, label_values, value);
}

}  // namespace nfct
