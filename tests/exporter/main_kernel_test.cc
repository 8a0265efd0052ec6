// The exporter process in a test network namespace: SIGTERM exits 0 promptly, a busy port exits
// 1 with one line naming it, an unknown flag exits 2, a port below 1024 is bound before the
// capabilities are dropped. Needs root (label "kernel").
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>

#include "tests/support/netns_fixture.h"

namespace nfct::testing {
namespace {

TEST(ExporterProcess, SigtermExitsZeroAndABusyPortExitsOne) {
  SKIP_UNLESS_KERNEL();
  TestNetns ns("process");
  ExporterProcess first(ns, {});
  ASSERT_TRUE(first.running()) << first.Stderr();
  // stderr into the captured output: the one line must name the address and the errno text.
  std::string address = "127.0.0.1:" + std::to_string(first.port());
  CommandResult second = ns.Run({"sh", "-c", "exec \"$0\" \"$1\" 2>&1", NFCT_EXPORTER_PATH,
                                 "--web.listen-address=" + address});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.out.find("level=error msg=\"cannot start\" err=\"cannot listen on " + address +
                            ": Address already in use\""),
            std::string::npos)
      << second.out;
  EXPECT_EQ(std::count(second.out.begin(), second.out.end(), '\n'), 1) << second.out;
  CommandResult bad_flag = ns.Run({NFCT_EXPORTER_PATH, "--no-such-flag"});
  EXPECT_EQ(bad_flag.exit_code, 2);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(first.Terminate(5), 0) << first.Stderr();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_NE(first.Stderr().find("msg=\"shutting down\""), std::string::npos);
}

TEST(ExporterProcess, BindsAPortBelow1024BeforeDroppingCapabilities) {
  SKIP_UNLESS_KERNEL();
  TestNetns ns("lowport");  // its own loopback: port 80 is free there
  ExporterProcess exporter(ns, {"--web.listen-address=127.0.0.1:80"});
  ASSERT_TRUE(exporter.running()) << exporter.Stderr();
  CommandResult healthy = ns.Run({"curl", "-s", "-m", "5", "http://127.0.0.1:80/-/healthy"});
  EXPECT_EQ(healthy.out, "Healthy.\n") << exporter.Stderr();
  // Bound, then dropped: the capability is not kept for the life of the process.
  std::ifstream status("/proc/" + std::to_string(exporter.pid()) + "/status");
  std::string line;
  uint64_t permitted = ~0ull;
  while (std::getline(status, line)) {
    if (line.starts_with("CapPrm:")) permitted = std::stoull(line.substr(7), nullptr, 16);
  }
  EXPECT_EQ(permitted >> 10 & 1, 0u) << "CAP_NET_BIND_SERVICE still permitted";
}

}  // namespace
}  // namespace nfct::testing
