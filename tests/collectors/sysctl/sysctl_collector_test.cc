// The sysctl collector against a fixture root it can rewrite: every scrape reads every number
// again from its kept-open file, the timeouts included.
#include "collectors/sysctl/sysctl_collector.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace nfct {
namespace {

double Value(const std::vector<prometheus::MetricFamily>& families, std::string_view name,
             std::string_view state = {}) {
  for (const auto& family : families) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      if (state.empty()) return metric.gauge.value;
      for (const auto& label : metric.label) {
        if (label.name == "state" && label.value == state) return metric.gauge.value;
      }
    }
  }
  return -1;
}

TEST(SysctlCollector, EveryScrapeReadsEveryNumberAgain) {
  auto root = std::filesystem::path(::testing::TempDir()) / "nfct_sysctl_collector";
  std::filesystem::remove_all(root);
  auto dir = root / "proc/sys/net/netfilter";
  std::filesystem::create_directories(dir);
  auto write = [&](const char* name, const char* value) {
    std::ofstream(dir / name, std::ios::trunc) << value << "\n";
  };
  write("nf_conntrack_count", "10");
  write("nf_conntrack_max", "262144");
  write("nf_conntrack_buckets", "262144");
  write("nf_conntrack_tcp_timeout_time_wait", "120");

  Env env{root / "proc", root / "sys", {}};
  SysctlCollector collector(env);
  auto scrape = [&] {
    FamilySink sink;
    EXPECT_TRUE(collector.Collect(sink).ok());
    return sink.Take();
  };
  auto first = scrape();
  EXPECT_EQ(Value(first, "nf_conntrack_entries"), 10);
  EXPECT_EQ(Value(first, "nf_conntrack_timeout_seconds", "time_wait"), 120);

  write("nf_conntrack_count", "11");
  write("nf_conntrack_max", "524288");
  write("nf_conntrack_tcp_timeout_time_wait", "30");
  auto next = scrape();
  EXPECT_EQ(Value(next, "nf_conntrack_entries"), 11);
  EXPECT_EQ(Value(next, "nf_conntrack_entries_limit"), 524288);
  EXPECT_EQ(Value(next, "nf_conntrack_timeout_seconds", "time_wait"), 30);

  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace nfct
