// The refused collector against the real kernel (root, label kernel): a test namespace filled
// to the unchanged global nf_conntrack_max, refused UDP to several ports and TCP SYNs to
// another, and a port a raw-priority nft rule drops before conntrack sees it. Per port the
// counts must equal what the senders saw refused (EPERM) and the kernel's remainder (TCP), the
// sum the kernel's own drop delta of the namespace, and the firewalled port must be absent.
// Other engineers' namespaces refuse meanwhile: only our own inode is compared.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <thread>

#include "collectors/refused/refused_collector.h"
#include "tests/support/netns_fixture.h"

namespace nfct::testing {
namespace {

constexpr uint16_t kFirewalledPort = 7000;
using Key = std::pair<std::string, std::string>;  // (protocol, port)

Env HostEnv() { return Env{"/proc", "/sys", {}}; }

MadeCollector Make(uint32_t map_size) {
  auto checked = CollectorOptions::Check("refused", RefusedCollectorOptions(),
                                         {{"map-size", std::to_string(map_size)}});
  if (!checked.error.empty()) return {nullptr, checked.error};
  return MakeRefusedCollector(HostEnv(), checked.options);
}

// `connections` non-blocking connects to 198.19.0.1:port: each SYN is refused (connect() does
// not fail for it). The sockets are closed after 300 ms, before the first retransmission.
void SendSyns(const TestNetns& ns, uint16_t port, int connections) {
  ns.Within([&] {
    std::vector<int> fds;
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    inet_pton(AF_INET, "198.19.0.1", &to.sin_addr);
    for (int i = 0; i < connections; ++i) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to);
      fds.push_back(fd);
    }
    usleep(300000);
    for (int fd : fds) close(fd);
    return 0;
  });
}

struct Scraped {
  std::map<std::pair<std::string, std::string>, double> by_port;  // (protocol, port) → packets
  double sum = 0;
  std::string netns_name;
  std::map<std::string, double> single;  // families without labels, and the info's attach
};

Scraped Scrape(Collector& collector, uint64_t inode) {
  FamilySink sink;
  Status status = collector.Collect(sink);
  EXPECT_TRUE(status.ok()) << status.reason();
  Scraped out;
  for (const auto& family : sink.Take()) {
    for (const auto& metric : family.metric) {
      std::map<std::string, std::string> labels;
      for (const auto& label : metric.label) labels[label.name] = label.value;
      double value = family.type == prometheus::MetricType::Counter ? metric.counter.value
                                                                    : metric.gauge.value;
      if (family.name == "nf_conntrack_refused_packets_total") {
        if (labels["netns"] != std::to_string(inode)) continue;
        out.by_port[{labels["protocol"], labels["port"]}] += value;
        out.sum += value;
        out.netns_name = labels["netns_name"];
      } else if (family.name == "nf_conntrack_refused_info") {
        out.single["attach=" + labels["attach"]] = value;
      } else if (metric.label.empty()) {
        out.single[family.name] = value;
      }
    }
  }
  return out;
}

class RefusedKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_UNLESS_KERNEL();
    ns_ = std::make_unique<TestNetns>("refused");
    // Dropped at raw priority, before conntrack: not the table's refusal, must not count.
    ASSERT_EQ(ns_->Run({"nft", "add table inet refused_fw"}).exit_code, 0);
    ASSERT_EQ(
        ns_->Run(
               {"nft", "add chain inet refused_fw out { type filter hook output priority -350 ; }"})
            .exit_code,
        0);
    ASSERT_EQ(ns_->Run({"nft", "add rule inet refused_fw out udp dport " +
                                   std::to_string(kFirewalledPort) + " drop"})
                  .exit_code,
              0);
  }
  std::unique_ptr<TestNetns> ns_;
};

TEST_F(RefusedKernel, CountsPerPortWhatTheFullTableRefusedAndNothingElse) {
  auto made = Make(4096);
  ASSERT_TRUE(made.collector) << made.error;
  auto& collector = static_cast<RefusedCollector&>(*made.collector);
  Status loaded = collector.Load();
  ASSERT_TRUE(loaded.ok()) << loaded.reason();

  ASSERT_GT(ns_->FillToMax(), 0) << "could not fill the test namespace";
  uint64_t drop_before = KernelStatSum(*ns_, "drop");

  // Different counts per port, so a mix-up between ports cannot pass.
  const std::map<uint16_t, int> udp = {{6001, 3}, {6002, 5}, {6003, 8}, {6004, 13}};
  std::map<uint16_t, int> eperm;
  for (auto [port, packets] : udp) {
    SendResult sent = ns_->SendUdpTo(port, packets);
    EXPECT_EQ(sent.eperm, packets) << "port " << port << " was not refused every time";
    eperm[port] = sent.eperm;
  }
  SendResult firewalled = ns_->SendUdpTo(kFirewalledPort, 10);
  EXPECT_EQ(firewalled.eperm, 10);  // refused too, but by the rule
  SendSyns(*ns_, 6100, 6);
  uint64_t drop_delta = KernelStatSum(*ns_, "drop") - drop_before;

  collector.RunOnce();
  Scraped scraped = Scrape(collector, ns_->inode());
  double udp_total = 0;
  for (auto [port, count] : eperm) {
    EXPECT_EQ(scraped.by_port[Key("udp", std::to_string(port))], count) << "udp port " << port;
    udp_total += count;
  }
  double tcp = scraped.by_port[Key("tcp", "6100")];
  EXPECT_EQ(tcp, static_cast<double>(drop_delta) - udp_total);
  EXPECT_GE(tcp, 6);  // one SYN per connect, at least
  EXPECT_EQ(scraped.sum, static_cast<double>(drop_delta)) << "sum against the kernel's drop delta";
  EXPECT_FALSE(scraped.by_port.contains(Key("udp", std::to_string(kFirewalledPort))));
  EXPECT_EQ(scraped.by_port.size(), udp.size() + 1);
  EXPECT_EQ(scraped.netns_name, ns_->name());
  EXPECT_EQ(scraped.single["attach=tp_btf/kfree_skb"], 1);
  EXPECT_EQ(scraped.single["nf_conntrack_refused_map_max_entries"], 4096);
  std::cout << "refused: udp " << udp_total << ", tcp " << tcp << ", kernel drop delta "
            << drop_delta << "\n";
}

TEST_F(RefusedKernel, KeysBeyondTheMapSpillIntoOtherAndNoneIsLost) {
  // Other namespaces on this machine may refuse too and take map slots: the map holds 3, we
  // send to 9 ports, so at least 6 of ours spill whatever happens elsewhere.
  auto made = Make(3);
  ASSERT_TRUE(made.collector) << made.error;
  auto& collector = static_cast<RefusedCollector&>(*made.collector);
  Status loaded = collector.Load();
  ASSERT_TRUE(loaded.ok()) << loaded.reason();
  ASSERT_GT(ns_->FillToMax(), 0);
  uint64_t drop_before = KernelStatSum(*ns_, "drop");
  int refused = 0;
  for (uint16_t port = 6201; port <= 6209; ++port) refused += ns_->SendUdpTo(port, 2).eperm;
  uint64_t drop_delta = KernelStatSum(*ns_, "drop") - drop_before;
  EXPECT_EQ(refused, 18);

  collector.RunOnce();
  Scraped scraped = Scrape(collector, ns_->inode());
  EXPECT_EQ(scraped.sum, static_cast<double>(drop_delta));
  EXPECT_EQ(scraped.sum, refused);
  EXPECT_GE(scraped.by_port[Key("", "other")], 12);  // ≥ 6 ports × 2 packets went to overflow
  EXPECT_LE(scraped.by_port.size(), 4u);             // ≤ 3 ports of their own, plus "other"
  EXPECT_EQ(scraped.single["nf_conntrack_refused_map_entries"], 3);
}

// Started by the exporter without CAP_BPF and CAP_PERFMON (root otherwise, CAP_SYS_ADMIN kept
// permitted for the netns walk but never raised for the load): unavailable, the missing
// capabilities named in one log line, every other collector still served.
TEST(RefusedKernelPrivileges, WithoutBpfCapabilitiesItIsUnavailableAndTheRestServes) {
  SKIP_UNLESS_KERNEL();
  TestNetns ns("refusedcaps");
  ExporterProcess exporter(ns, {"--collector.refused"},
                           {"setpriv", "--bounding-set=-bpf,-perfmon", "--inh-caps=-bpf,-perfmon"});
  ASSERT_TRUE(exporter.running()) << exporter.Stderr();
  // The load is tried on the collector's worker after start: scrape until its outcome is logged
  // (a sanitizer build starts slower), at most 20 s.
  std::string text = exporter.Scrape();
  for (int i = 0; i < 200 && exporter.Stderr().find("CAP_BPF and CAP_PERFMON") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    text = exporter.Scrape();
  }
  EXPECT_EQ(MetricValue(text, "nf_conntrack_scrape_collector_success{collector=\"refused\"}"), 0);
  EXPECT_EQ(MetricValue(text, "nf_conntrack_scrape_collector_success{collector=\"sysctl\"}"), 1);
  EXPECT_EQ(MetricValue(text, "nf_conntrack_scrape_collector_success{collector=\"stat\"}"), 1);
  EXPECT_FALSE(MetricValue(text, "nf_conntrack_refused_info{attach=\"tp_btf/kfree_skb\"}"));
  exporter.Scrape();
  EXPECT_EQ(exporter.Terminate(), 0);
  std::string log = exporter.Stderr();
  size_t first = log.find("collector unavailable\" collector=refused");
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_NE(log.find("CAP_BPF and CAP_PERFMON", first), std::string::npos) << log;
  EXPECT_EQ(log.find("CAP_BPF", log.find("CAP_BPF", first) + 1), std::string::npos)
      << "logged more than once: " << log;
}

}  // namespace
}  // namespace nfct::testing
