// Walks every declared metric family: valid names, units and _total where due, help that is a
// sentence; every declared family appears in some golden file and nothing undeclared does.
#include <prometheus/check_names.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "collectors/all.h"
#include "tests/support/test_support.h"

namespace nfct::testing {
namespace {

// prometheus-cpp's own checks, plus the house rule that names are lower-case snake_case.
bool ValidMetricName(std::string_view name) {
  return prometheus::CheckMetricName(std::string(name)) &&
         std::none_of(name.begin(), name.end(), [](char c) { return c == ':' || std::isupper(c); });
}
bool ValidLabelName(std::string_view name) {
  return prometheus::CheckLabelName(std::string(name)) &&
         std::none_of(name.begin(), name.end(), [](char c) { return std::isupper(c); });
}

std::vector<FamilyDesc> AllDeclared() {
  std::vector<FamilyDesc> all;
  Env env = FixtureEnv("healthy");
  for (const auto& entry : AllCollectors()) {
    MadeCollector made = MakeCollector(entry, env);  // every option at its declared default
    EXPECT_TRUE(made.collector) << entry.name << ": " << made.error;
    if (!made.collector) continue;
    for (const auto& desc : made.collector->Families()) all.push_back(desc);
  }
  return all;
}

TEST(Declarations, FollowPrometheusConventions) {
  auto declared = AllDeclared();
  for (const auto& desc : CollectorSet::OwnFamilies()) declared.push_back(desc);
  std::set<std::string_view> names;
  for (const auto& desc : declared) {
    SCOPED_TRACE(std::string(desc.name));
    EXPECT_TRUE(ValidMetricName(desc.name));
    EXPECT_TRUE(names.insert(desc.name).second) << "declared twice";
    EXPECT_TRUE(desc.name.starts_with("nf_conntrack_") || desc.name.starts_with("process_"));
    // A sink takes one value per sample: no summaries or histograms.
    EXPECT_TRUE(desc.type == prometheus::MetricType::Counter ||
                desc.type == prometheus::MetricType::Gauge ||
                desc.type == prometheus::MetricType::Untyped);
    bool total = desc.name.ends_with("_total");
    EXPECT_EQ(total, desc.type == prometheus::MetricType::Counter) << "_total iff counter";
    ASSERT_FALSE(desc.help.empty());
    EXPECT_TRUE(desc.help.back() == '.') << "help is a sentence: " << desc.help;
    EXPECT_TRUE(desc.help[0] >= 'A' && desc.help[0] <= 'Z') << desc.help;
    for (auto label : desc.labels) {
      EXPECT_TRUE(ValidLabelName(label)) << label;
      EXPECT_NE(label, "le");
      EXPECT_NE(label, "quantile");
    }
  }
}

TEST(Declarations, GoldenFilesCoverExactlyTheDeclaredFamilies) {
  std::set<std::string> in_golden;
  for (const auto& file : std::filesystem::directory_iterator(SourcePath("tests/golden"))) {
    if (file.path().extension() != ".prom") continue;
    std::istringstream lines(ReadText(file.path()));
    for (std::string line; std::getline(lines, line);) {
      if (!line.starts_with("# TYPE ")) continue;
      std::string name = line.substr(7, line.find(' ', 7) - 7);
      in_golden.insert(name);
    }
  }
  std::set<std::string> declared;
  for (const auto& desc : AllDeclared()) declared.insert(std::string(desc.name));
  for (const auto& desc : CollectorSet::OwnFamilies()) {
    // process_* and build_info vary per run and are checked live below, not in golden files.
    if (!desc.name.starts_with("process_") && desc.name != "nf_conntrack_exporter_build_info") {
      declared.insert(std::string(desc.name));
    }
  }
  for (const auto& name : declared)
    EXPECT_TRUE(in_golden.contains(name)) << "not in any golden: " << name;
  for (const auto& name : in_golden) EXPECT_TRUE(declared.contains(name)) << "undeclared: " << name;
}

TEST(Declarations, ExporterMetricsAreServedAsDeclared) {
  auto set = FixtureSet("healthy", /*exporter_metrics=*/true);
  std::set<std::string> served;
  for (const auto& family : set->Collect()) served.insert(family.name);
  for (const auto& desc : CollectorSet::OwnFamilies()) {
    EXPECT_TRUE(served.contains(std::string(desc.name))) << desc.name;
  }
}

TEST(Declarations, CollectorNamesAreUniqueSnakeCase) {
  std::set<std::string_view> names;
  for (const auto& entry : AllCollectors()) {
    EXPECT_TRUE(ValidLabelName(entry.name)) << entry.name;  // a label value and a flag
    EXPECT_TRUE(names.insert(entry.name).second) << entry.name;
    EXPECT_FALSE(entry.help.empty()) << entry.name;
  }
}

}  // namespace
}  // namespace nfct::testing
