#include "exporter/exposition.h"

#include <charconv>
#include <cmath>
#include <limits>

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

void AppendLabelValue(std::string& out, const std::string& value) {
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// name{labels[,extra="value"]} and the space before the value.
void AppendHead(std::string& out, const MetricFamily& family, const ClientMetric& metric,
                std::string_view suffix = {}, std::string_view extra_name = {},
                std::string_view extra_value = {}) {
  out += family.name;
  out += suffix;
  if (!metric.label.empty() || !extra_name.empty()) {
    out += '{';
    bool first = true;
    for (const auto& label : metric.label) {
      if (!first) out += ',';
      first = false;
      out += label.name;
      out += "=\"";
      AppendLabelValue(out, label.value);
      out += '"';
    }
    if (!extra_name.empty()) {
      if (!first) out += ',';
      out += extra_name;
      out += "=\"";
      out += extra_value;
      out += '"';
    }
    out += '}';
  }
  out += ' ';
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

}  // namespace

void WriteExposition(const std::vector<MetricFamily>& families, std::string& out) {
  for (const auto& family : families) {
    if (!family.help.empty()) {
      out += "# HELP ";
      out += family.name;
      out += ' ';
      out += family.help;
      out += '\n';
    }
    out += "# TYPE ";
    out += family.name;
    out += ' ';
    out += TypeName(family.type);
    out += '\n';
    for (const auto& metric : family.metric) AppendMetric(out, family, metric);
  }
}

}  // namespace nfct
