#include "exporter/exposition.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <limits>
#include <string_view>
#include <utility>

namespace nfct {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// As TextSerializer: 16 significant digits, shortest of fixed and exponent (printf "%.16g").
void AppendDouble(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "Nan";
  } else if (std::isinf(value)) {
    out += value < 0 ? "-Inf" : "+Inf";
  } else {
    char buffer[32];
    auto result =
        std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general, 16);
    out.append(buffer, result.ptr);
  }
}

template <typename Integer>
void AppendInteger(std::string& out, Integer value) {
  char buffer[24];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, result.ptr);
}

// Backslash, double quote and newline escaped, as the format requires; the rest copied in runs.
void AppendLabelValue(std::string& out, std::string_view value) {
  while (true) {
    size_t special = value.find_first_of("\\\"\n");
    out.append(value.substr(0, special));
    if (special == std::string_view::npos) return;
    if (value[special] == '\n') {
      out += "\\n";
    } else {
      out += '\\';
      out += value[special];
    }
    value.remove_prefix(special + 1);
  }
}

// name="value"
void AppendLabel(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += "=\"";
  AppendLabelValue(out, value);
  out += '"';
}

// name[suffix]{labels[,extra="value"]} and the space before the value; label(i) returns the i-th
// {name, value} pair of `labels`.
template <typename Label>
void AppendHead(std::string& out, std::string_view name, std::string_view suffix, size_t labels,
                Label label, std::string_view extra_name = {}, std::string_view extra_value = {}) {
  out += name;
  out += suffix;
  if (labels > 0 || !extra_name.empty()) {
    out += '{';
    for (size_t i = 0; i < labels; ++i) {
      if (i > 0) out += ',';
      auto [label_name, label_value] = label(i);
      AppendLabel(out, label_name, label_value);
    }
    if (!extra_name.empty()) {
      if (labels > 0) out += ',';
      AppendLabel(out, extra_name, extra_value);
    }
    out += '}';
  }
  out += ' ';
}

// The head of a sample of a prometheus-cpp family.
void AppendHead(std::string& out, const MetricFamily& family, const ClientMetric& metric,
                std::string_view suffix = {}, std::string_view extra_name = {},
                std::string_view extra_value = {}) {
  AppendHead(
      out, family.name, suffix, metric.label.size(),
      [&](size_t i) {
        return std::pair<std::string_view, std::string_view>(metric.label[i].name,
                                                             metric.label[i].value);
      },
      extra_name, extra_value);
}

void AppendTail(std::string& out, const ClientMetric& metric) {
  if (metric.timestamp_ms != 0) {
    out += ' ';
    AppendInteger(out, metric.timestamp_ms);
  }
  out += '\n';
}

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::Counter:
      return "counter";
    case MetricType::Gauge:
      return "gauge";
    case MetricType::Summary:
      return "summary";
    case MetricType::Histogram:
      return "histogram";
    case MetricType::Untyped:
      break;
  }
  return "untyped";
}

void AppendMetric(std::string& out, const MetricFamily& family, const ClientMetric& metric) {
  switch (family.type) {
    case MetricType::Counter:
      AppendHead(out, family, metric);
      AppendDouble(out, metric.counter.value);
      AppendTail(out, metric);
      return;
    case MetricType::Gauge:
      AppendHead(out, family, metric);
      AppendDouble(out, metric.gauge.value);
      AppendTail(out, metric);
      return;
    case MetricType::Untyped:
      AppendHead(out, family, metric);
      AppendDouble(out, metric.untyped.value);
      AppendTail(out, metric);
      return;
    case MetricType::Summary: {
      AppendHead(out, family, metric, "_count");
      AppendInteger(out, metric.summary.sample_count);
      AppendTail(out, metric);
      AppendHead(out, family, metric, "_sum");
      AppendDouble(out, metric.summary.sample_sum);
      AppendTail(out, metric);
      for (const auto& quantile : metric.summary.quantile) {
        std::string value;
        AppendDouble(value, quantile.quantile);
        AppendHead(out, family, metric, "", "quantile", value);
        AppendDouble(out, quantile.value);
        AppendTail(out, metric);
      }
      return;
    }
    case MetricType::Histogram: {
      const auto& histogram = metric.histogram;
      AppendHead(out, family, metric, "_count");
      AppendInteger(out, histogram.sample_count);
      AppendTail(out, metric);
      AppendHead(out, family, metric, "_sum");
      AppendDouble(out, histogram.sample_sum);
      AppendTail(out, metric);
      double last = -std::numeric_limits<double>::infinity();
      for (const auto& bucket : histogram.bucket) {
        std::string bound;
        AppendDouble(bound, bucket.upper_bound);
        AppendHead(out, family, metric, "_bucket", "le", bound);
        last = bucket.upper_bound;
        AppendInteger(out, bucket.cumulative_count);
        AppendTail(out, metric);
      }
      if (last != std::numeric_limits<double>::infinity()) {
        AppendHead(out, family, metric, "_bucket", "le", "+Inf");
        AppendInteger(out, histogram.sample_count);
        AppendTail(out, metric);
      }
      return;
    }
  }
}

void AppendFamilyHead(std::string& out, std::string_view name, std::string_view help,
                      MetricType type) {
  if (!help.empty()) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += '\n';
  }
  out += "# TYPE ";
  out += name;
  out += ' ';
  out += TypeName(type);
  out += '\n';
}

}  // namespace

void WriteExposition(const std::vector<MetricFamily>& families, std::string& out) {
  for (const auto& family : families) {
    AppendFamilyHead(out, family.name, family.help, family.type);
    for (const auto& metric : family.metric) AppendMetric(out, family, metric);
  }
}

ExpositionSink::Family& ExpositionSink::Slot(const FamilyDesc& desc) {
  if (last_ < families_.size() && families_[last_].name == desc.name) return families_[last_];
  auto it = std::lower_bound(
      families_.begin(), families_.end(), desc.name,
      [](const Family& family, std::string_view name) { return family.name < name; });
  if (it == families_.end() || it->name != desc.name) {
    // First sight of this family (declared ones are readied before the first scrape).
    it = families_.insert(it, {std::string(desc.name), std::string(desc.help), desc.type, {}});
  }
  last_ = static_cast<size_t>(it - families_.begin());
  return *it;
}

void ExpositionSink::Clear() {
  for (auto& family : families_) family.samples.clear();
}

template <typename Values>
void ExpositionSink::AddSample(const FamilyDesc& desc, const Values& label_values, double value) {
  // A mismatch is a programming error in the collector; the declaration test catches it.
  assert(label_values.size() == desc.labels.size());
  std::string& out = Slot(desc).samples;
  // One value per sample (FamilyDesc): the line of a counter, gauge or untyped sample.
  AppendHead(out, desc.name, {}, std::min(desc.labels.size(), label_values.size()), [&](size_t i) {
    return std::pair<std::string_view, std::string_view>(desc.labels[i], label_values.begin()[i]);
  });
  AppendDouble(out, value);
  out += '\n';
}

void ExpositionSink::Add(const FamilyDesc& desc,
                         std::initializer_list<std::string_view> label_values, double value) {
  AddSample(desc, label_values, value);
}

void ExpositionSink::Add(const FamilyDesc& desc, const std::vector<std::string>& label_values,
                         double value) {
  AddSample(desc, label_values, value);
}

void ExpositionSink::Finish(std::string& out) {
  for (auto& family : families_) {
    if (family.samples.empty()) continue;
    AppendFamilyHead(out, family.name, family.help, family.type);
    out += family.samples;
    family.samples.clear();
  }
}

}  // namespace nfct
