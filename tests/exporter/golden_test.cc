// Golden /metrics per fixture scenario, fetched through the real HTTP server on port 0.
#include <httplib.h>

#include "exporter/http/http_server.h"
#include "tests/support/test_support.h"

namespace nfct::testing {
namespace {

std::string ScrapeThroughServer(const CollectorSet& set) {
  HttpServer server({"/metrics", 0, {}}, set, {});
  EXPECT_EQ(server.Listen({"127.0.0.1:0"}), "");
  EXPECT_EQ(server.Start(), "");
  httplib::Client client("127.0.0.1", server.ports().at(0));
  auto response = client.Get("/metrics");
  server.Stop();
  if (!response) return "no response";
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  return response->body;
}

class GoldenTest : public ::testing::TestWithParam<const char*> {};

TEST_P(GoldenTest, MatchesGoldenFile) {
  std::string scenario = GetParam();
  std::unique_ptr<CollectorSet> set;
  if (scenario == "no_procfs_stat") {
    // What IPCTNL_MSG_CT_GET_STATS_CPU reports on 6.x, two CPUs.
    set = FixtureSetWithNetlinkStats(
        scenario, StatRead{{{"found", "invalid", "insert", "insert_failed", "drop", "early_drop",
                             "icmp_error", "search_restart", "clashres", "chainlength",
                             "expect_new", "expect_create", "expect_delete"},
                            {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0, 0},
                             {10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 1, 1, 1}}},
                           Status::Ok()});
  } else {
    // /proc has the answer: the real netlink fallback must stay unused (its numbers would differ).
    set = FixtureSet(scenario);
  }
  ExpectGolden(scenario, ScrapeThroughServer(*set));
}

INSTANTIATE_TEST_SUITE_P(Scenarios, GoldenTest,
                         ::testing::Values("healthy", "full_dropping", "no_module",
                                           "no_procfs_stat", "old_kernel", "ancient_kernel",
                                           "malformed"));

TEST(GoldenStatus, ReportsWhatItCouldNotRead) {
  auto states = [](const char* scenario) {
    auto set = FixtureSet(scenario);
    set->Collect();
    return set->States();
  };
  auto no_module = states("no_module");
  EXPECT_EQ(no_module[0].status.code(), Status::Code::kUnavailable);
  EXPECT_NE(no_module[0].status.reason().find("nf_conntrack is not loaded"), std::string::npos);
  EXPECT_EQ(no_module[1].status.code(), Status::Code::kUnavailable);

  auto malformed = states("malformed");
  EXPECT_EQ(malformed[0].status.code(), Status::Code::kError);
  EXPECT_NE(malformed[0].status.reason().find("nf_conntrack_max"), std::string::npos);
  EXPECT_EQ(malformed[1].status.code(), Status::Code::kError);
  EXPECT_NE(malformed[1].status.reason().find("line 2 has 2 fields"), std::string::npos);

  for (const auto& state : states("healthy")) EXPECT_TRUE(state.status.ok()) << state.name;
}

}  // namespace
}  // namespace nfct::testing
