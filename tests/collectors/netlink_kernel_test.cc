// collectors/netlink.h against the real kernel: a socket opened for another network namespace
// sees that netns's table and only that one, the calling thread stays where it was, and a
// missing netns is reported as unavailable. Needs root (label "kernel").
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "collectors/netlink.h"
#include "collectors/stat/stat_netlink.h"
#include "collectors/table/table_dumper.h"
#include "tests/support/netns_fixture.h"

namespace nfct::testing {
namespace {

ino_t ThreadNetns() {
  struct stat st {};
  EXPECT_EQ(stat("/proc/thread-self/ns/net", &st), 0);
  return st.st_ino;
}

uint64_t DumpEntries(const std::string& netns) {
  TableCounts counts;
  std::atomic<bool> stop{false};
  DumpOutcome outcome = MakeNetlinkTableSource(netns)->Dump(counts, stop);
  EXPECT_TRUE(outcome.status.ok()) << outcome.status.reason();
  return outcome.entries;
}

TEST(NetlinkKernel, ASocketForAnotherNetnsSeesThatTableOnly) {
  SKIP_UNLESS_KERNEL();
  TestNetns ns("nl");
  TestNetns neighbour("nlother");
  ASSERT_EQ(ns.CreateEntries({"--count=5", "--state=established"}).exit_code, 0);
  ASSERT_EQ(neighbour.CreateEntries({"--count=9", "--proto=udp"}).exit_code, 0);
  const ino_t before = ThreadNetns();

  EXPECT_EQ(DumpEntries("/run/netns/" + ns.name()), 5u);
  EXPECT_EQ(DumpEntries("/run/netns/" + neighbour.name()), 9u);
  StatRead stats = MakeNetlinkCpuStatsSource("/run/netns/" + ns.name())->Read();
  EXPECT_TRUE(stats.status.ok()) << stats.status.reason();
  EXPECT_FALSE(stats.table.rows.empty());

  EXPECT_EQ(ThreadNetns(), before) << "the caller's thread changed netns";
}

TEST(NetlinkKernel, AMissingNetnsIsUnavailable) {
  SKIP_UNLESS_KERNEL();
  NetlinkOpen opened = NetlinkSocket::Open("/run/netns/nfct-no-such-netns", "netlink tests");
  EXPECT_FALSE(opened.socket);
  EXPECT_EQ(opened.status.code(), Status::Code::kUnavailable);
  EXPECT_NE(opened.status.reason().find("no such network namespace"), std::string::npos)
      << opened.status.reason();
}

TEST(NetlinkKernel, AFileThatIsNoNetnsIsAnError) {
  SKIP_UNLESS_KERNEL();
  NetlinkOpen opened = NetlinkSocket::Open("/proc/self/status", "netlink tests");
  EXPECT_FALSE(opened.socket);
  EXPECT_EQ(opened.status.code(), Status::Code::kError) << opened.status.reason();
}

}  // namespace
}  // namespace nfct::testing
