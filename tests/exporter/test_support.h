// Shared by the exporter tests: fixture roots, a collector set over one, a frozen clock and
// golden-file comparison (UPDATE_GOLDEN=1 rewrites). Single-threaded use from tests.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "collectors/stat/stat_collector.h"
#include "collectors/sysctl/sysctl_collector.h"
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

// Stands in for ctnetlink: returns a fixed table, or fails the test if it must not be used.
class FakeCpuStats : public CpuStatsSource {
 public:
  explicit FakeCpuStats(std::optional<StatRead> answer) : answer_(std::move(answer)) {}
  StatRead Read() override {
    if (!answer_) {
      ADD_FAILURE() << "the stat collector used netlink although /proc had its answer";
      return {{}, Status::Error("netlink must not be used here")};
    }
    return *answer_;
  }

 private:
  std::optional<StatRead> answer_;
};

inline std::unique_ptr<CollectorSet> FixtureSet(const std::string& scenario,
                                                std::optional<StatRead> netlink = std::nullopt,
                                                bool exporter_metrics = false) {
  Env env = FixtureEnv(scenario);
  std::vector<CollectorSet::Named> collectors;
  collectors.push_back({"sysctl", std::make_unique<SysctlCollector>(env)});
  collectors.push_back(
      {"stat", std::make_unique<StatCollector>(env, std::make_unique<FakeCpuStats>(netlink))});
  return std::make_unique<CollectorSet>(std::move(collectors), env.clock, exporter_metrics);
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
