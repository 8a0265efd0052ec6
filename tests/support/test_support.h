// Shared by the exporter tests: fixture roots, a collector set over one, a frozen clock and
// golden-file comparison (UPDATE_GOLDEN=1 rewrites). Single-threaded use from tests.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "collectors/all.h"
#include "collectors/stat/stat_collector.h"
#include "exporter/collector_set.h"

namespace nfct::testing {

inline std::string SourcePath(const std::string& relative) {
  return std::string(NFCT_SOURCE_DIR) + "/" + relative;
}

inline Clock FrozenClock() {
  Clock clock;
  clock.wall = [] {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  };
  clock.steady = [] { return std::chrono::steady_clock::time_point(); };
  return clock;
}

inline Env FixtureEnv(const std::string& scenario) {
  std::string root = SourcePath("tests/fixtures/roots/" + scenario);
  return Env{root + "/proc", root + "/sys", FrozenClock()};
}

// Stands in for ctnetlink: returns a fixed table.
class FakeCpuStats : public CpuStatsSource {
 public:
  explicit FakeCpuStats(StatRead answer) : answer_(std::move(answer)) {}
  StatRead Read() override { return answer_; }

 private:
  StatRead answer_;
};

// The sysctl and stat collectors over a fixture root, built by the real factories of
// collectors/all.cc with their default options, as the exporter builds them.
inline std::unique_ptr<CollectorSet> FixtureSet(const std::string& scenario,
                                                bool exporter_metrics = false) {
  auto built = BuildCollectorSet(AllCollectors(), {{"sysctl", true}, {"stat", true}}, {},
                                 FixtureEnv(scenario), exporter_metrics);
  EXPECT_EQ(built.error, "");
  return std::move(built.set);
}

// As FixtureSet, with the stat collector's netlink fallback answering `netlink`. Sysctl comes from
// all.cc's factory; stat is built by hand only to swap its netlink source, because the real one
// would ask this host's kernel. StatKernel.WithoutProcfsStatsTheExporterUsesNetlink runs the real
// factory, through the exporter binary, against the kernel.
inline std::unique_ptr<CollectorSet> FixtureSetWithNetlinkStats(const std::string& scenario,
                                                                StatRead netlink) {
  Env env = FixtureEnv(scenario);
  std::vector<CollectorSet::Named> collectors;
  for (const auto& entry : AllCollectors()) {
    if (entry.name == "sysctl") collectors.push_back({"sysctl", entry.make(env, {}).collector});
  }
  collectors.push_back(
      {"stat", std::make_unique<StatCollector>(env, std::make_unique<FakeCpuStats>(netlink))});
  return std::make_unique<CollectorSet>(std::move(collectors), env, false);
}

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Compares with tests/golden/<name>.prom; UPDATE_GOLDEN=1 rewrites the file instead.
inline void ExpectGolden(const std::string& name, const std::string& actual) {
  std::string path = SourcePath("tests/golden/" + name + ".prom");
  if (const char* update = std::getenv("UPDATE_GOLDEN"); update && std::string(update) == "1") {
    std::ofstream(path) << actual;
    return;
  }
  EXPECT_EQ(ReadText(path), actual) << "golden " << path << " differs; UPDATE_GOLDEN=1 rewrites";
}

}  // namespace nfct::testing
