// The stat collector against the real kernel: the exporter binary runs inside a network namespace
// of the test's own, which makes real table-full drops; procfs and netlink counters agree.
#include <gtest/gtest.h>

#include <variant>

#include "collectors/env.h"
#include "collectors/stat/stat_netlink.h"
#include "collectors/stat/stat_parser.h"
#include "tests/support/netns_fixture.h"

namespace nfct::testing {
namespace {

TEST(StatKernel, DropTotalRisesByExactlyThePacketsTheKernelDropped) {
  SKIP_UNLESS_KERNEL();
  TestNetns ns("drops");
  ExporterProcess exporter(ns, {});
  ASSERT_TRUE(exporter.running()) << exporter.Stderr();
  long max = ReadNumberFile("/proc/sys/net/netfilter/nf_conntrack_max");
  ASSERT_GT(max, 0) << "nf_conntrack_max = 0 (unlimited): the table cannot fill";
  ns.FillToMax();
  ASSERT_EQ(ns.Count(), max);

  // The scrape's own loopback connection is untracked, so it still works with a full table.
  std::string before = exporter.Scrape();
  auto drop_before = MetricValue(before, "nf_conntrack_stat_drop_total");
  ASSERT_TRUE(drop_before.has_value()) << before;
  uint64_t kernel_before = KernelStatSum(ns, "drop");

  SendResult sent = ns.SendUdpFlows(3000, 20000);
  EXPECT_EQ(sent.eperm, 3000) << "sent=" << sent.sent << " other=" << sent.other_errors;

  std::string after = exporter.Scrape();
  auto drop_after = MetricValue(after, "nf_conntrack_stat_drop_total");
  ASSERT_TRUE(drop_after.has_value());
  uint64_t kernel_after = KernelStatSum(ns, "drop");
  EXPECT_EQ(*drop_after - *drop_before, sent.eperm);
  EXPECT_EQ(kernel_after - kernel_before, static_cast<uint64_t>(sent.eperm));
  EXPECT_EQ(MetricValue(after, "nf_conntrack_entries"), max);
  // Entries in a full table of ASSURED flows cannot be evicted.
  EXPECT_EQ(MetricValue(after, "nf_conntrack_stat_early_drop_total"),
            MetricValue(before, "nf_conntrack_stat_early_drop_total"));
}

TEST(StatKernel, NetlinkCountersEqualProcfsCounters) {
  SKIP_UNLESS_KERNEL();
  TestNetns ns("nlstat");
  ASSERT_EQ(ns.CreateEntries({"--count=700", "--proto=udp"}).exit_code, 0);
  ns.FillToMax();
  ns.SendUdpFlows(100, 30000);
  auto [netlink, procfs] = ns.Within([] {
    StatRead read = MakeNetlinkCpuStatsSource()->Read();
    EXPECT_TRUE(read.status.ok()) << read.status.reason();
    FileRead file = ReadFile("/proc/thread-self/net/stat/nf_conntrack");
    return std::pair(read.table, std::get<StatTable>(ParseStatTable(file.data)));
  });
  ASSERT_FALSE(netlink.columns.empty());
  ASSERT_EQ(netlink.rows.size(), procfs.rows.size());
  for (size_t n = 0; n < netlink.columns.size(); ++n) {
    SCOPED_TRACE(netlink.columns[n]);
    size_t p = 0;
    while (p < procfs.columns.size() && procfs.columns[p] != netlink.columns[n]) ++p;
    ASSERT_LT(p, procfs.columns.size()) << "netlink column missing from /proc";
    for (size_t cpu = 0; cpu < netlink.rows.size(); ++cpu) {
      EXPECT_EQ(netlink.rows[cpu][n], procfs.rows[cpu][p]) << "cpu " << cpu;
    }
  }
  // The drops made above are visible through netlink too.
  size_t drop = 0;
  while (netlink.columns[drop] != "drop") ++drop;
  uint64_t drops = 0;
  for (const auto& row : netlink.rows) drops += row[drop];
  EXPECT_EQ(drops, 100u);
}

TEST(StatKernel, WithoutProcfsStatsTheExporterUsesNetlink) {
  SKIP_UNLESS_KERNEL();
  TestNetns ns("nlfallback");
  ns.FillToMax();
  ns.SendUdpFlows(250, 40000);
  // A procfs root whose net/stat is missing but whose sysctls are the real ones (symlinked),
  // as on a kernel built without CONFIG_NF_CONNTRACK_PROCFS.
  std::string root = "/tmp/" + ns.name() + "-proc";
  ASSERT_EQ(RunCommand({"mkdir", "-p", root + "/sys/net"}).exit_code, 0);
  ASSERT_EQ(
      RunCommand({"ln", "-s", "/proc/sys/net/netfilter", root + "/sys/net/netfilter"}).exit_code,
      0);
  {
    ExporterProcess exporter(ns, {"--path.procfs=" + root});
    ASSERT_TRUE(exporter.running()) << exporter.Stderr();
    std::string metrics = exporter.Scrape();
    EXPECT_EQ(MetricValue(metrics, R"(nf_conntrack_scrape_collector_success{collector="stat"})"), 1)
        << exporter.Stderr();
    EXPECT_EQ(MetricValue(metrics, "nf_conntrack_stat_drop_total"), 250);
  }
  RunCommand({"rm", "-rf", root});
}

TEST(StatKernel, NetlinkWithoutCapNetAdminIsUnavailableAndTheRestIsServed) {
  SKIP_UNLESS_KERNEL();
  TestNetns ns("nlnocap");
  std::string root = "/tmp/" + ns.name() + "-proc";
  ASSERT_EQ(RunCommand({"mkdir", "-p", root + "/sys/net"}).exit_code, 0);
  ASSERT_EQ(
      RunCommand({"ln", "-s", "/proc/sys/net/netfilter", root + "/sys/net/netfilter"}).exit_code,
      0);
  {
    // nobody, no capabilities at all.
    ExporterProcess exporter(ns, {"--path.procfs=" + root},
                             {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                              "--inh-caps=-all", "--bounding-set=-all"});
    ASSERT_TRUE(exporter.running()) << exporter.Stderr();
    std::string metrics = exporter.Scrape();
    EXPECT_EQ(MetricValue(metrics, R"(nf_conntrack_scrape_collector_success{collector="stat"})"),
              0);
    EXPECT_EQ(MetricValue(metrics, R"(nf_conntrack_scrape_collector_success{collector="sysctl"})"),
              1);
    EXPECT_TRUE(MetricValue(metrics, "nf_conntrack_entries").has_value());
    exporter.Scrape();  // a second failing scrape must not log again
    std::string log = exporter.Stderr();
    const std::string line = "level=warn msg=\"collector unavailable\" collector=stat err=\"" +
                             root +
                             "/net/stat/nf_conntrack does not exist; netlink conntrack "
                             "stats need CAP_NET_ADMIN\"";
    size_t first = log.find(line);
    EXPECT_NE(first, std::string::npos) << log;
    EXPECT_EQ(log.find("collector=stat", first + line.size()), std::string::npos)
        << "logged twice:\n"
        << log;
  }
  RunCommand({"rm", "-rf", root});
}

}  // namespace
}  // namespace nfct::testing
