// The collector set: one log line per change of state, exceptions caught, families sorted.
#include "exporter/collector_set.h"

#include <sstream>

#include "collectors/log.h"
#include "tests/support/test_support.h"

namespace nfct::testing {
namespace {

// Returns a scripted status on each scrape; throws when the script says "throw".
class ScriptedCollector : public Collector {
 public:
  explicit ScriptedCollector(std::vector<std::string> script) : script_(std::move(script)) {}
  const std::vector<FamilyDesc>& Families() const override {
    static const std::vector<FamilyDesc> kFamilies = {
        {"nf_conntrack_b_test", prometheus::MetricType::Gauge, "B.", {}},
        {"nf_conntrack_a_test", prometheus::MetricType::Gauge, "A.", {}}};
    return kFamilies;
  }
  Status Collect(MetricSink& sink) override {
    std::string step = script_.at(std::min(next_++, script_.size() - 1));
    sink.Add(Families()[0], {}, 1);
    sink.Add(Families()[1], {}, 2);
    if (step == "throw") throw std::runtime_error("boom");
    if (step == "unavailable") return Status::Unavailable("not here");
    return Status::Ok();
  }

 private:
  std::vector<std::string> script_;
  size_t next_ = 0;
};

TEST(CollectorSet, LogsOnlyWhenTheStateChanges) {
  std::ostringstream log;
  ConfigureLog(LogLevel::kInfo, LogFormat::kLogfmt, &log);
  std::vector<CollectorSet::Named> collectors;
  collectors.push_back({"scripted", std::make_unique<ScriptedCollector>(std::vector<std::string>{
                                        "unavailable", "unavailable", "unavailable", "ok", "ok",
                                        "throw", "throw"})});
  CollectorSet set(std::move(collectors), FrozenClock(), false);
  for (int i = 0; i < 7; ++i) set.Collect();
  ConfigureLog(LogLevel::kInfo, LogFormat::kLogfmt, nullptr);

  std::string text = log.str();
  auto count = [&](std::string_view needle) {
    size_t n = 0;
    for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
      ++n;
    return n;
  };
  EXPECT_EQ(count("msg=\"collector unavailable\" collector=scripted err=\"not here\""), 1u) << text;
  EXPECT_EQ(count("msg=\"collector succeeded\" collector=scripted"), 1u) << text;
  EXPECT_EQ(count("msg=\"collector failed\" collector=scripted err=\"exception: boom\""), 1u)
      << text;
  EXPECT_EQ(count("\n"), 3u) << text;
}

TEST(CollectorSet, AThrowingCollectorScoresZeroAndFamiliesAreSorted) {
  std::ostringstream quiet;
  ConfigureLog(LogLevel::kInfo, LogFormat::kLogfmt, &quiet);
  std::vector<CollectorSet::Named> collectors;
  collectors.push_back(
      {"scripted", std::make_unique<ScriptedCollector>(std::vector<std::string>{"throw"})});
  CollectorSet set(std::move(collectors), FrozenClock(), false);
  auto families = set.Collect();
  ConfigureLog(LogLevel::kInfo, LogFormat::kLogfmt, nullptr);
  std::vector<std::string> names;
  for (const auto& family : families) names.push_back(family.name);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  // Samples added before the exception are still served.
  EXPECT_EQ(names.front(), "nf_conntrack_a_test");
  for (const auto& family : families) {
    if (family.name == "nf_conntrack_scrape_collector_success") {
      EXPECT_EQ(family.metric.at(0).gauge.value, 0);
    }
  }
  EXPECT_EQ(set.States().at(0).status.code(), Status::Code::kError);
}

// A host without the module is told apart from a failing collector by its own gauge: both
// fixtures have the conntrack collectors, only one has nf_conntrack_max.
TEST(CollectorSet, ReportsWhetherTheModuleIsLoaded) {
  auto module_loaded = [](const char* scenario) {
    std::vector<double> values;
    for (const auto& family : FixtureSet(scenario)->Collect()) {
      if (family.name != "nf_conntrack_module_loaded") continue;
      for (const auto& metric : family.metric) values.push_back(metric.gauge.value);
    }
    return values;
  };
  EXPECT_EQ(module_loaded("healthy"), std::vector<double>{1});
  EXPECT_EQ(module_loaded("no_module"), std::vector<double>{0});
}

}  // namespace
}  // namespace nfct::testing
