// The table collector against the real kernel: known entries in known TCP states (made over
// ctnetlink, so they are real kernel states), UDP and ICMP, IPv4 and IPv6, in a netns of the
// test's own, with a second netns full of entries that must never be counted.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "collectors/table/table_collector.h"
#include "collectors/table/table_dumper.h"
#include "tests/support/netns_fixture.h"

namespace nfct::testing {
namespace {

using namespace std::chrono_literals;

void Make(const TestNetns& ns, long& offset, std::vector<std::string> flags) {
  flags.push_back("--src-offset=" + std::to_string(offset));
  offset += 100000;
  CommandResult result = ns.CreateEntries(flags);
  ASSERT_EQ(result.exit_code, 0) << result.out;
}

// Scrapes until the first dump has been published (or 20 s pass).
std::string ScrapeAfterFirstDump(const ExporterProcess& exporter) {
  std::string metrics;
  for (int i = 0; i < 200; ++i) {
    metrics = exporter.Scrape();
    if (MetricValue(metrics, "nf_conntrack_table_dump_entries")) break;
    std::this_thread::sleep_for(100ms);
  }
  return metrics;
}

std::optional<double> Cell(const std::string& metrics, const std::string& family,
                           const std::string& protocol, const std::string& state) {
  return MetricValue(metrics, "nf_conntrack_table_entries{family=\"" + family + "\",protocol=\"" +
                                  protocol + "\",state=\"" + state + "\"}");
}

std::optional<double> Port(const std::string& metrics, const std::string& protocol,
                           const std::string& port) {
  return MetricValue(metrics, "nf_conntrack_table_entries_by_port{protocol=\"" + protocol +
                                  "\",port=\"" + port + "\"}");
}

TEST(TableKernel, EveryGaugeEqualsTheEntriesMadeAndOtherNetnsAreNotCounted) {
  SKIP_UNLESS_KERNEL();
  TestNetns ns("table");
  TestNetns neighbour("tableother");
  ASSERT_EQ(ns.Count(), 0);
  long offset = 0;
  Make(ns, offset, {"--count=37", "--state=time_wait", "--dport=80"});
  Make(ns, offset, {"--count=23", "--state=established", "--dport=443"});
  Make(ns, offset, {"--count=11", "--state=syn_sent", "--dport=8080", "--dports=2"});
  Make(ns, offset, {"--count=7", "--state=close_wait", "--dport=22"});
  Make(ns, offset, {"--count=13", "--family=ipv6", "--state=time_wait", "--dport=80"});
  Make(ns, offset, {"--count=5", "--family=ipv6", "--state=established", "--dport=443"});
  Make(ns, offset, {"--count=17", "--proto=udp", "--status=assured", "--dport=53"});
  Make(ns, offset,
       {"--count=9", "--proto=udp", "--status=unreplied", "--dport=5353", "--dports=3"});
  Make(ns, offset, {"--count=4", "--family=ipv6", "--proto=udp", "--status=replied", "--dport=53"});
  Make(ns, offset, {"--count=6", "--proto=icmp", "--status=assured"});
  Make(ns, offset, {"--count=3", "--family=ipv6", "--proto=icmp", "--status=unreplied"});
  const long kMade = 37 + 23 + 11 + 7 + 13 + 5 + 17 + 9 + 4 + 6 + 3;
  // The neighbour's entries share the kernel's hash with ours, and the same ports.
  long neighbour_offset = 0;
  Make(neighbour, neighbour_offset, {"--count=1000", "--state=time_wait", "--dport=80"});
  Make(neighbour, neighbour_offset, {"--count=500", "--proto=udp", "--dport=53"});
  Make(neighbour, neighbour_offset, {"--count=300", "--family=ipv6", "--state=established"});
  ASSERT_EQ(ns.Count(), kMade);

  ExporterProcess exporter(ns, {"--collector.table.top-ports=3"});
  ASSERT_TRUE(exporter.running()) << exporter.Stderr();
  std::string m = ScrapeAfterFirstDump(exporter);
  EXPECT_EQ(MetricValue(m, "nf_conntrack_table_dump_entries"), kMade) << m;
  EXPECT_EQ(MetricValue(m, R"(nf_conntrack_scrape_collector_success{collector="table"})"), 1);

  EXPECT_EQ(Cell(m, "ipv4", "tcp", "time_wait"), 37);
  EXPECT_EQ(Cell(m, "ipv4", "tcp", "established"), 23);
  EXPECT_EQ(Cell(m, "ipv4", "tcp", "syn_sent"), 11);
  EXPECT_EQ(Cell(m, "ipv4", "tcp", "close_wait"), 7);
  EXPECT_EQ(Cell(m, "ipv6", "tcp", "time_wait"), 13);
  EXPECT_EQ(Cell(m, "ipv6", "tcp", "established"), 5);
  EXPECT_EQ(Cell(m, "ipv4", "udp", "assured"), 17);
  EXPECT_EQ(Cell(m, "ipv4", "udp", "unreplied"), 9);
  EXPECT_EQ(Cell(m, "ipv6", "udp", "replied"), 4);
  EXPECT_EQ(Cell(m, "ipv4", "icmp", "assured"), 6);
  EXPECT_EQ(Cell(m, "ipv6", "icmpv6", "unreplied"), 3);
  // Every other cell is present and zero: the sum over all cells is what was made.
  double sum = 0;
  int cells = 0;
  for (const char* family : {"ipv4", "ipv6"}) {
    for (const char* state : {"none", "syn_sent", "syn_recv", "established", "fin_wait",
                              "close_wait", "last_ack", "time_wait", "close", "syn_sent2"}) {
      if (auto v = Cell(m, family, "tcp", state)) sum += *v, ++cells;
    }
    for (const char* protocol : {"udp", "icmp", "icmpv6", "sctp", "gre", "dccp", "other"}) {
      for (const char* state : {"assured", "replied", "unreplied"}) {
        if (auto v = Cell(m, family, protocol, state)) sum += *v, ++cells;
      }
    }
  }
  EXPECT_EQ(cells, 62);
  EXPECT_EQ(sum, kMade);

  // TCP: 80 has 37+13, 443 has 23+5, 22 has 7; 8080 (6) and 8081 (5) fall into "other".
  EXPECT_EQ(Port(m, "tcp", "80"), 50);
  EXPECT_EQ(Port(m, "tcp", "443"), 28);
  EXPECT_EQ(Port(m, "tcp", "22"), 7);
  EXPECT_EQ(Port(m, "tcp", "8080"), std::nullopt);
  EXPECT_EQ(Port(m, "tcp", "other"), 11);
  // UDP: 53 has 17+4; 5353..5355 have 3 each: a tie goes to the lower ports.
  EXPECT_EQ(Port(m, "udp", "53"), 21);
  EXPECT_EQ(Port(m, "udp", "5353"), 3);
  EXPECT_EQ(Port(m, "udp", "5354"), 3);
  EXPECT_EQ(Port(m, "udp", "5355"), std::nullopt);
  EXPECT_EQ(Port(m, "udp", "other"), 3);
  EXPECT_EQ(Port(m, "sctp", "other"), 0);
}

TEST(TableKernel, WithoutCapNetAdminTheCollectorIsUnavailable) {
  SKIP_UNLESS_KERNEL();
  TestNetns ns("tablecap");
  ExporterProcess exporter(ns, {},
                           {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            "--inh-caps=-all", "--bounding-set=-all"});
  ASSERT_TRUE(exporter.running()) << exporter.Stderr();
  std::optional<double> success;
  for (int i = 0; i < 100; ++i) {
    success = MetricValue(exporter.Scrape(),
                          R"(nf_conntrack_scrape_collector_success{collector="table"})");
    if (success == 0) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(success, 0);
  EXPECT_NE(exporter.Stderr().find("CAP_NET_ADMIN"), std::string::npos) << exporter.Stderr();
}

TEST(TableKernel, TheDeprecatedMaxEntriesNoLongerWithholdsTheBreakdown) {
  SKIP_UNLESS_KERNEL();
  TestNetns ns("tableskip");
  long offset = 0;
  Make(ns, offset, {"--count=100", "--state=time_wait"});
  ExporterProcess exporter(ns, {"--collector.table.max-entries=99"});
  ASSERT_TRUE(exporter.running()) << exporter.Stderr();
  std::string m = ScrapeAfterFirstDump(exporter);
  EXPECT_EQ(MetricValue(m, "nf_conntrack_table_dump_entries"), 100) << m;
  EXPECT_EQ(Cell(m, "ipv4", "tcp", "time_wait"), 100);
  EXPECT_EQ(MetricValue(m, "nf_conntrack_table_dump_cpu_budget_ratio"), 0.05);
  EXPECT_GT(MetricValue(m, "nf_conntrack_table_dump_cpu_seconds_total").value_or(-1), 0);
  EXPECT_NE(exporter.Stderr().find("max-entries is deprecated and ignored"), std::string::npos)
      << exporter.Stderr();
}

TEST(TableKernel, StopIsPromptInTheMiddleOfALargeDump) {
  SKIP_UNLESS_KERNEL();
  TestNetns ns("tablestop");
  ASSERT_GT(ns.FillToMax(), 100000);
  TableCollector collector(Env{}, TableOptions{1h, 0, 10}, MakeNetlinkTableSource());
  // The worker inherits the netns of the thread that starts it.
  ns.Within([&] { collector.Start(); });
  std::this_thread::sleep_for(50ms);  // a dump of 262144 entries takes about half a second
  auto begin = std::chrono::steady_clock::now();
  collector.Stop();
  auto took = std::chrono::steady_clock::now() - begin;
  EXPECT_LT(took, 300ms);
  FamilySink sink;
  collector.Collect(sink);
  for (const auto& family : sink.Take()) {
    EXPECT_NE(family.name, "nf_conntrack_table_entries") << "a cancelled dump was published";
  }
}

}  // namespace
}  // namespace nfct::testing
