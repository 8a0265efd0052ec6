// The direct exposition writer against prometheus-cpp's TextSerializer, and the scrape sink
// (CollectorSet::WriteScrape) against the object path (Collect, then WriteExposition): byte for
// byte on every fixture scenario, on hostile label values and where number formatting could differ.
#include "exporter/exposition.h"

#include <prometheus/text_serializer.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

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

// The label values and numbers a writer could get wrong.
const std::string_view kHostileLabels[] = {"",
                                           "plain",
                                           "quote\"inside",
                                           "back\\slash",
                                           "trailing\\",
                                           "\\\"",
                                           "two\nlines",
                                           "\n",
                                           "\\n is not a newline",
                                           "UTF-8: \xc3\xa9 \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac",
                                           "{braces},=\"commas\"",
                                           "tab\tand\rreturn"};
const double kHostileValues[] = {0.0,
                                 -0.0,
                                 1.0,
                                 0.1,
                                 1.0 / 3,
                                 4294967296.0,
                                 9007199254740992.0,  // 2^53
                                 9007199254740993.0,  // 2^53 + 1: not a double
                                 9223372036854775808.0,
                                 18446744073709551615.0,
                                 123456789012345678.0,
                                 1e21,
                                 1e-7,
                                 -2.5e-300,
                                 std::numeric_limits<double>::max(),
                                 std::numeric_limits<double>::denorm_min(),
                                 std::numeric_limits<double>::infinity(),
                                 -std::numeric_limits<double>::infinity(),
                                 std::nan(""),
                                 -std::nan("")};

using prometheus::MetricType;

// Families declared out of name order and filled in interleaved runs, through both Add overloads;
// one family it never declared, one declared family with no sample. Optionally throws at the end.
class HostileCollector : public Collector {
 public:
  explicit HostileCollector(bool throws) : throws_(throws) {}
  const std::vector<FamilyDesc>& Families() const override {
    static const std::vector<FamilyDesc> kFamilies = {
        {"nf_conntrack_z_test", MetricType::Gauge, "Z with \\ and \"quotes\".", {"value"}},
        {"nf_conntrack_a_test_total", MetricType::Counter, "A.", {"a", "b"}},
        {"nf_conntrack_m_test", MetricType::Untyped, "M.", {}},
        {"nf_conntrack_b_never_test", MetricType::Gauge, "Never has a sample.", {}}};
    return kFamilies;
  }
  Status Collect(MetricSink& sink) override {
    static const FamilyDesc kUndeclared{
        "nf_conntrack_n_undeclared_test", MetricType::Gauge, "Undeclared.", {"l"}};
    const auto& families = Families();
    for (std::string_view label : kHostileLabels) {
      sink.Add(families[0], {label}, 1);
      std::vector<std::string> values = {std::string(label), "x"};
      sink.Add(families[1], values, 2);
    }
    for (double value : kHostileValues) {
      sink.Add(families[2], {}, value);
      sink.Add(kUndeclared, {"v"}, value);
      sink.Add(families[0], {"value"}, value);
    }
    if (throws_) throw std::runtime_error("after the samples");
    return Status::Ok();
  }

 private:
  bool throws_;
};

std::unique_ptr<CollectorSet> HostileSet(bool throws) {
  std::vector<CollectorSet::Named> collectors;
  collectors.push_back({"hostile", std::make_unique<HostileCollector>(throws)});
  collectors.push_back({"second", std::make_unique<HostileCollector>(false)});
  return std::make_unique<CollectorSet>(std::move(collectors), FrozenClock(), false);
}

std::string Scraped(const CollectorSet& set, ExpositionSink& sink) {
  std::string out = "kept|";  // appends, never replaces
  set.WriteScrape(sink, out);
  EXPECT_TRUE(out.starts_with("kept|"));
  return out.substr(5);
}

TEST(ScrapeSink, SameBytesAsTheObjectPathOnEveryScenario) {
  for (const char* scenario :
       {"healthy", "full_dropping", "no_module", "old_kernel", "ancient_kernel", "malformed"}) {
    auto set = FixtureSet(scenario);
    ExpositionSink sink;
    std::string expected;
    WriteExposition(set->Collect(), expected);
    // Twice through one sink: the second, warm scrape keeps nothing of the first.
    EXPECT_EQ(Scraped(*set, sink), expected) << scenario;
    EXPECT_EQ(Scraped(*set, sink), expected) << scenario;
  }
}

TEST(ScrapeSink, SameFamiliesAsTheObjectPathWithExporterMetrics) {
  // process_* values move between two scrapes: compare the family lines, not the values.
  auto families = [](const std::string& text) {
    std::string heads;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with("#")) heads += line + "\n";
    }
    return heads;
  };
  auto set = FixtureSet("healthy", true);
  ExpositionSink sink;
  std::string expected;
  WriteExposition(set->Collect(), expected);
  std::string scraped = Scraped(*set, sink);
  EXPECT_EQ(families(scraped), families(expected));
  EXPECT_NE(scraped.find("\nprocess_open_fds "), std::string::npos) << scraped;
}

TEST(ScrapeSink, SameBytesAsTheObjectPathForHostileLabelsAndValues) {
  for (bool throws : {false, true}) {
    auto set = HostileSet(throws);
    std::string expected;
    WriteExposition(set->Collect(), expected);
    ExpositionSink sink;
    std::string scraped = Scraped(*set, sink);
    EXPECT_EQ(scraped, expected) << "throws=" << throws;
    EXPECT_EQ(Scraped(*set, sink), expected) << "throws=" << throws;
    // The escapes themselves, so that both paths cannot be wrong together.
    EXPECT_NE(scraped.find("nf_conntrack_z_test{value=\"two\\nlines\"} 1\n"), std::string::npos);
    EXPECT_NE(scraped.find("nf_conntrack_z_test{value=\"quote\\\"inside\"} 1\n"),
              std::string::npos);
    EXPECT_NE(scraped.find("nf_conntrack_a_test_total{a=\"back\\\\slash\",b=\"x\"} 2\n"),
              std::string::npos);
    EXPECT_NE(scraped.find("nf_conntrack_m_test -0\nnf_conntrack_m_test 1\n"), std::string::npos);
    EXPECT_NE(scraped.find("nf_conntrack_m_test 1.844674407370955e+19\n"), std::string::npos);
    EXPECT_EQ(scraped.find("nf_conntrack_b_never_test"), std::string::npos);
    EXPECT_NE(scraped.find("nf_conntrack_scrape_collector_success{collector=\"hostile\"} " +
                           std::string(throws ? "0" : "1")),
              std::string::npos);
  }
}

TEST(ScrapeSink, FamiliesInNameOrderWithHelpAndTypeOnce) {
  auto set = HostileSet(false);
  ExpositionSink sink;
  std::string scraped = Scraped(*set, sink);
  std::vector<std::string> types;
  std::istringstream lines(scraped);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("# TYPE ")) types.push_back(line.substr(7, line.find(' ', 7) - 7));
  }
  EXPECT_EQ(types,
            (std::vector<std::string>{
                "nf_conntrack_a_test_total", "nf_conntrack_m_test",
                "nf_conntrack_n_undeclared_test", "nf_conntrack_scrape_collector_duration_seconds",
                "nf_conntrack_scrape_collector_success", "nf_conntrack_z_test"}));
}

}  // namespace
}  // namespace nfct::testing
