// The direct exposition writer against prometheus-cpp's TextSerializer: byte for byte on every
// fixture scenario and on values where number formatting could differ.
#include "exporter/exposition.h"

#include <prometheus/text_serializer.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "tests/support/test_support.h"

namespace nfct::testing {
namespace {

std::string Serialized(const std::vector<prometheus::MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

std::string Written(const std::vector<prometheus::MetricFamily>& families) {
  std::string out = "kept|";  // appends, never replaces
  WriteExposition(families, out);
  EXPECT_TRUE(out.starts_with("kept|"));
  return out.substr(5);
}

TEST(Exposition, SameBytesAsTextSerializerOnEveryScenario) {
  for (const char* scenario :
       {"healthy", "full_dropping", "no_module", "old_kernel", "ancient_kernel", "malformed"}) {
    auto families = FixtureSet(scenario, true)->Collect();
    EXPECT_EQ(Written(families), Serialized(families)) << scenario;
  }
}

TEST(Exposition, SameBytesForEdgeValuesAndEveryType) {
  std::vector<prometheus::MetricFamily> families(5);
  const double values[] = {0.0,
                           -0.0,
                           1.0,
                           0.1,
                           1.0 / 3,
                           123456789012345678.0,
                           1e21,
                           1e-7,
                           -2.5e-300,
                           4294967296.0,
                           std::numeric_limits<double>::max(),
                           std::numeric_limits<double>::denorm_min(),
                           std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity(),
                           std::nan("")};
  families[0] = {"g", "Help with \\ and \"quotes\".", prometheus::MetricType::Gauge, {}};
  families[1] = {"c_total", "", prometheus::MetricType::Counter, {}};
  families[2] = {"u", "Untyped.", prometheus::MetricType::Untyped, {}};
  for (double value : values) {
    prometheus::ClientMetric metric;
    metric.label = {{"a", "x\\y\"z"}, {"b", ""}};
    metric.gauge.value = value;
    metric.counter.value = value;
    metric.untyped.value = value;
    families[0].metric.push_back(metric);
    families[1].metric.push_back(metric);
    metric.label.clear();
    metric.timestamp_ms = 1700000000123;
    families[2].metric.push_back(metric);
  }
  families[3] = {"h", "Histogram.", prometheus::MetricType::Histogram, {}};
  prometheus::ClientMetric histogram;
  histogram.label = {{"l", "v"}};
  histogram.histogram.sample_count = 7;
  histogram.histogram.sample_sum = 0.75;
  histogram.histogram.bucket = {{3, 0.1}, {7, 1.5}};
  families[3].metric.push_back(histogram);
  families[4] = {"s", "Summary.", prometheus::MetricType::Summary, {}};
  prometheus::ClientMetric summary;
  summary.summary.sample_count = 3;
  summary.summary.sample_sum = 12.5;
  summary.summary.quantile = {{0.5, 4}, {0.99, 8}};
  families[4].metric.push_back(summary);
  EXPECT_EQ(Written(families), Serialized(families));
}

TEST(Exposition, EscapesANewlineInALabelValue) {
  prometheus::MetricFamily family{"g", "", prometheus::MetricType::Gauge, {}};
  prometheus::ClientMetric metric;
  metric.label = {{"a", "two\nlines"}};
  metric.gauge.value = 1;
  family.metric.push_back(metric);
  EXPECT_EQ(Written({family}), "# TYPE g gauge\ng{a=\"two\\nlines\"} 1\n");
}

}  // namespace
}  // namespace nfct::testing
