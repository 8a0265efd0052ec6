// The exporter process in a test network namespace: SIGTERM exits 0 promptly, a busy port exits
// 1 and an unknown flag exits 2. Needs root (label "kernel").
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tests/support/netns_fixture.h"

namespace nfct::testing {
namespace {

TEST(ExporterProcess, SigtermExitsZeroAndABusyPortExitsOne) {
  SKIP_UNLESS_KERNEL();
  TestNetns ns("process");
  ExporterProcess first(ns, {});
  ASSERT_TRUE(first.running()) << first.Stderr();
  CommandResult second = ns.Run(
      {NFCT_EXPORTER_PATH, "--web.listen-address=127.0.0.1:" + std::to_string(first.port())});
  EXPECT_EQ(second.exit_code, 1);
  CommandResult bad_flag = ns.Run({NFCT_EXPORTER_PATH, "--no-such-flag"});
  EXPECT_EQ(bad_flag.exit_code, 2);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(first.Terminate(5), 0) << first.Stderr();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_NE(first.Stderr().find("msg=\"shutting down\""), std::string::npos);
}

}  // namespace
}  // namespace nfct::testing
