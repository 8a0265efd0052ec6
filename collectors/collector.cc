#include "collectors/collector.h"

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

prometheus::ClientMetric& MetricSink::NewSample(const FamilyDesc& desc) {
  for (auto& family : families_) {
    if (family.name == desc.name) return family.metric.emplace_back();
  }
  auto& family = families_.emplace_back();
  family.name = std::string(desc.name);
  family.help = std::string(desc.help);
  family.type = desc.type;
  return family.metric.emplace_back();
}

namespace {

template <typename Values>
void Fill(const FamilyDesc& desc, const Values& label_values, double value,
          prometheus::ClientMetric& sample) {
  // A mismatch is a programming error in the collector; the declaration test catches it.
  assert(label_values.size() == desc.labels.size());
  sample.label.reserve(desc.labels.size());
  auto value_it = label_values.begin();
  for (auto label : desc.labels) {
    if (value_it == label_values.end()) break;
    sample.label.push_back({std::string(label), std::string(*value_it++)});
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

}  // namespace

void MetricSink::Add(const FamilyDesc& desc, std::initializer_list<std::string_view> label_values,
                     double value) {
  Fill(desc, label_values, value, NewSample(desc));
}

void MetricSink::Add(const FamilyDesc& desc, const std::vector<std::string>& label_values,
                     double value) {
  Fill(desc, label_values, value, NewSample(desc));
}

}  // namespace nfct
