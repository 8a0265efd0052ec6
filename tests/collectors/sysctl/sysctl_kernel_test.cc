// The sysctl collector against the real kernel: the exporter binary runs inside a network
// namespace of the test's own with real entries, and every value equals the kernel's.
#include <gtest/gtest.h>

#include "tests/support/netns_fixture.h"

namespace nfct::testing {
namespace {

TEST(SysctlKernel, EntriesLimitBucketsAndTimeoutsMatchTheKernel) {
  SKIP_UNLESS_KERNEL();
  TestNetns ns("sysctl");
  ASSERT_EQ(ns.CreateEntries({"--count=1000", "--proto=tcp", "--state=established"}).exit_code, 0);
  ASSERT_EQ(ns.CreateEntries({"--count=500", "--proto=udp", "--src-offset=100000"}).exit_code, 0);
  // Timeouts are per netns: change this netns's TIME_WAIT only.
  ASSERT_EQ(
      ns.Run({"sysctl", "-qw", "net.netfilter.nf_conntrack_tcp_timeout_time_wait=33"}).exit_code,
      0);
  ExporterProcess exporter(ns, {});
  ASSERT_TRUE(exporter.running()) << exporter.Stderr();
  std::string metrics = exporter.Scrape();

  EXPECT_EQ(ns.Count(), 1500);
  EXPECT_EQ(MetricValue(metrics, "nf_conntrack_entries"), 1500);
  EXPECT_EQ(MetricValue(metrics, "nf_conntrack_entries_limit"),
            ReadNumberFile("/proc/sys/net/netfilter/nf_conntrack_max"));
  EXPECT_EQ(MetricValue(metrics, "nf_conntrack_buckets"),
            ReadNumberFile("/proc/sys/net/netfilter/nf_conntrack_buckets"));
  EXPECT_EQ(
      MetricValue(metrics, R"(nf_conntrack_timeout_seconds{protocol="tcp",state="time_wait"})"),
      33);
  EXPECT_EQ(MetricValue(metrics, R"(nf_conntrack_timeout_seconds{protocol="udp",state="default"})"),
            ReadNumberFile("/proc/sys/net/netfilter/nf_conntrack_udp_timeout"));
  EXPECT_EQ(MetricValue(metrics, R"(nf_conntrack_scrape_collector_success{collector="sysctl"})"),
            1);
  // The host's own TIME_WAIT timeout is untouched.
  EXPECT_NE(ReadNumberFile("/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_time_wait"), 33);
}

}  // namespace
}  // namespace nfct::testing
