// The netns collector against the real kernel: two named test namespaces with no process in
// them and one unnamed namespace held only by a sleeping process, with different entry counts
// and real table-full drops in one. Every per-namespace series must equal the kernel's own
// numbers. Other engineers' namespaces come and go meanwhile, so only our own are compared
// exactly; the top-N check uses bounds that hold whatever else exists.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>

#include "collectors/netns/netns_collector.h"
#include "tests/support/netns_fixture.h"

extern char** environ;

namespace nfct::testing {
namespace {

// A network namespace held only by `unshare --net sleep`, with no name; killed by PID.
class HeldNetns {
 public:
  HeldNetns() {
    const char* argv[] = {"unshare", "--net", "sleep", "600", nullptr};
    if (posix_spawnp(&pid_, "unshare", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) {
      pid_ = -1;
      return;
    }
    // unshare execs sleep in the same process once the netns exists.
    std::string own = Link(getpid());
    for (int i = 0; i < 200; ++i) {
      std::string link = Link(pid_);
      if (!link.empty() && link != own && ReadFile(Path("cmdline")).data.starts_with("sleep")) {
        inode_ = std::stoull(link.substr(5));
        return;
      }
      usleep(10000);
    }
  }
  ~HeldNetns() { Kill(); }
  HeldNetns(const HeldNetns&) = delete;
  HeldNetns& operator=(const HeldNetns&) = delete;

  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  pid_t pid() const { return pid_; }
  uint64_t inode() const { return inode_; }
  std::string Path(const std::string& relative) const {
    return "/proc/" + std::to_string(pid_) + "/" + relative;
  }
  CommandResult Run(std::vector<std::string> argv) const {
    argv.insert(argv.begin(), {"nsenter", "--net=" + Path("ns/net")});
    return RunCommand(argv);
  }
  uint64_t StatSum(const std::string& column) const {
    return StatColumnSum(ReadFile(Path("net/stat/nf_conntrack")).data, column);
  }
  uint64_t Entries() const {
    auto table = ParseStatTable(ReadFile(Path("net/stat/nf_conntrack")).data);
    return std::get<StatTable>(table).rows.at(0).at(0);  // "entries" is the first column
  }

 private:
  static std::string Link(pid_t pid) {
    char buffer[64];
    std::string path = "/proc/" + std::to_string(pid) + "/ns/net";
    ssize_t n = readlink(path.c_str(), buffer, sizeof buffer);
    return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "";
  }
  pid_t pid_ = -1;
  uint64_t inode_ = 0;
};

struct Sample {
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Every sample of the collector's last snapshot, by family.
std::map<std::string, std::vector<Sample>> Scrape(NetnsCollector& collector) {
  FamilySink sink;
  Status status = collector.Collect(sink);
  EXPECT_TRUE(status.ok()) << status.reason();
  std::map<std::string, std::vector<Sample>> out;
  for (const auto& family : sink.Take()) {
    for (const auto& metric : family.metric) {
      Sample sample;
      for (const auto& label : metric.label) sample.labels[label.name] = label.value;
      sample.value = family.type == prometheus::MetricType::Counter ? metric.counter.value
                                                                    : metric.gauge.value;
      out[family.name].push_back(sample);
    }
  }
  return out;
}

const Sample* Series(const std::map<std::string, std::vector<Sample>>& scrape,
                     const std::string& family, const std::string& netns) {
  auto it = scrape.find(family);
  if (it == scrape.end()) return nullptr;
  for (const auto& sample : it->second) {
    if (sample.labels.at("netns") == netns) return &sample;
  }
  return nullptr;
}

class NetnsKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = KernelSkipReason(); !why.empty()) GTEST_SKIP() << why;
    quiet_ = std::make_unique<TestNetns>("nsq");
    full_ = std::make_unique<TestNetns>("nsf");
    held_ = std::make_unique<HeldNetns>();
    ASSERT_GT(held_->inode(), 0u) << "unshare --net sleep did not start";
    ASSERT_EQ(quiet_->CreateEntries({"--count=123"}).exit_code, 0);
    ASSERT_EQ(held_->Run({NFCT_CT_CREATE_PATH, "--count=37", "--proto=udp"}).exit_code, 0);
    // The full one: filled to the unchanged global max with ASSURED entries, then new flows
    // are dropped by the kernel (EPERM for each).
    ASSERT_GT(full_->FillToMax(), 0);
    SendResult sent = full_->SendUdpFlows(40, 20000);
    ASSERT_GT(sent.eperm, 0) << "no drops: sent=" << sent.sent;
    drops_ = sent.eperm;
  }

  Env env_;  // the real /proc
  std::unique_ptr<TestNetns> quiet_, full_;
  std::unique_ptr<HeldNetns> held_;
  int drops_ = 0;
};

TEST_F(NetnsKernel, EverySeriesEqualsTheKernelsNumbers) {
  NetnsCollector collector(env_, {std::chrono::seconds(30), 100000}, MakeSetnsEnterer("/proc"));
  collector.RunOnce();
  auto scrape = Scrape(collector);

  struct Want {
    std::string inode, name;
    uint64_t entries, drop, early_drop, insert_failed;
  };
  const std::vector<Want> wants = {
      {std::to_string(quiet_->inode()), quiet_->name(), static_cast<uint64_t>(quiet_->Count()),
       KernelStatSum(*quiet_, "drop"), KernelStatSum(*quiet_, "early_drop"),
       KernelStatSum(*quiet_, "insert_failed")},
      {std::to_string(full_->inode()), full_->name(), static_cast<uint64_t>(full_->Count()),
       KernelStatSum(*full_, "drop"), KernelStatSum(*full_, "early_drop"),
       KernelStatSum(*full_, "insert_failed")},
      {std::to_string(held_->inode()), "", held_->Entries(), held_->StatSum("drop"),
       held_->StatSum("early_drop"), held_->StatSum("insert_failed")},
  };
  EXPECT_EQ(wants[0].entries, 123u);
  EXPECT_EQ(wants[2].entries, 37u);
  EXPECT_EQ(wants[1].drop, static_cast<uint64_t>(drops_));
  for (const auto& want : wants) {
    SCOPED_TRACE(want.inode + " " + want.name);
    const Sample* entries = Series(scrape, "nf_conntrack_netns_entries", want.inode);
    ASSERT_TRUE(entries);
    EXPECT_EQ(entries->value, want.entries);
    EXPECT_EQ(entries->labels.at("netns_name"), want.name);
    EXPECT_EQ(entries->labels.at("pod_uid"), "");
    EXPECT_EQ(Series(scrape, "nf_conntrack_netns_stat_drop_total", want.inode)->value, want.drop);
    EXPECT_EQ(Series(scrape, "nf_conntrack_netns_stat_early_drop_total", want.inode)->value,
              want.early_drop);
    EXPECT_EQ(Series(scrape, "nf_conntrack_netns_stat_insert_failed_total", want.inode)->value,
              want.insert_failed);
  }
  EXPECT_GE(scrape["nf_conntrack_netns_namespaces"].at(0).value, 4);  // ours and the host's
  EXPECT_EQ(scrape["nf_conntrack_netns_unread_namespaces"].at(0).value, 0);
}

TEST_F(NetnsKernel, TopNKeepsTheFullestAndSumsTheRest) {
  NetnsCollector collector(env_, {std::chrono::seconds(30), 1}, MakeSetnsEnterer("/proc"));
  collector.RunOnce();
  auto scrape = Scrape(collector);
  const auto& entries = scrape["nf_conntrack_netns_entries"];
  ASSERT_EQ(entries.size(), 2u);
  const Sample& top = entries[0];
  const Sample& other = entries[1];
  EXPECT_EQ(other.labels.at("netns"), "other");
  // The full namespace holds the global max, so the top one holds at least as many (another
  // engineer's test may hold as many at the same time).
  long max = ReadNumberFile("/proc/sys/net/netfilter/nf_conntrack_max");
  EXPECT_EQ(top.value, static_cast<double>(max));
  double ours_in_other = 123 + 37;
  double drops_in_other = 0;
  if (top.labels.at("netns") != std::to_string(full_->inode())) {
    ours_in_other += static_cast<double>(max);
    drops_in_other += drops_;
  }
  EXPECT_GE(other.value, ours_in_other);
  EXPECT_GE(Series(scrape, "nf_conntrack_netns_stat_drop_total", "other")->value, drops_in_other);
}

TEST_F(NetnsKernel, ANamespaceDestroyedBetweenWalksIsLeftOut) {
  NetnsCollector collector(env_, {std::chrono::seconds(30), 100000}, MakeSetnsEnterer("/proc"));
  collector.RunOnce();
  auto before = Scrape(collector);
  const std::string quiet = std::to_string(quiet_->inode());
  const std::string held = std::to_string(held_->inode());
  ASSERT_TRUE(Series(before, "nf_conntrack_netns_entries", quiet));
  ASSERT_TRUE(Series(before, "nf_conntrack_netns_entries", held));
  quiet_.reset();  // ip netns del
  held_->Kill();
  collector.RunOnce();
  auto after = Scrape(collector);
  EXPECT_FALSE(Series(after, "nf_conntrack_netns_entries", quiet));
  EXPECT_FALSE(Series(after, "nf_conntrack_netns_entries", held));
  EXPECT_TRUE(Series(after, "nf_conntrack_netns_entries", std::to_string(full_->inode())));
}

// The exporter binary run inside the full namespace: its own netns's series (sysctl, stat)
// are what they were without this collector, and its netns's netns series say the same.
TEST_F(NetnsKernel, TheExportersOwnNamespaceSeriesAgree) {
  ExporterProcess exporter(*full_, {"--no-collector.kmsg", "--no-collector.table"});
  ASSERT_TRUE(exporter.running()) << exporter.Stderr();
  std::string metrics;
  for (int i = 0; i < 100; ++i) {
    metrics = exporter.Scrape();
    if (metrics.find("nf_conntrack_netns_walk_timestamp_seconds") != std::string::npos) break;
    usleep(50000);
  }
  const std::string labels = "{netns=\"" + std::to_string(full_->inode()) + "\",netns_name=\"" +
                             full_->name() + "\",pod_uid=\"\",container_id=\"\"}";
  EXPECT_EQ(MetricValue(metrics, "nf_conntrack_entries"), full_->Count());
  EXPECT_EQ(MetricValue(metrics, "nf_conntrack_netns_entries" + labels), full_->Count());
  EXPECT_EQ(MetricValue(metrics, "nf_conntrack_stat_drop_total"), drops_);
  EXPECT_EQ(MetricValue(metrics, "nf_conntrack_netns_stat_drop_total" + labels), drops_);
  EXPECT_EQ(MetricValue(metrics, R"(nf_conntrack_scrape_collector_success{collector="netns"})"), 1);
  EXPECT_EQ(exporter.Terminate(), 0);
}

// Without CAP_SYS_ADMIN the named namespaces nobody holds are seen but not read; with it alone
// (no root, no other capability) they are read.
TEST_F(NetnsKernel, NamedNamespacesNeedCapSysAdmin) {
  const std::string quiet_labels = "{netns=\"" + std::to_string(quiet_->inode()) +
                                   "\",netns_name=\"" + quiet_->name() +
                                   "\",pod_uid=\"\",container_id=\"\"}";
  auto run = [&](const std::string& caps) {
    ExporterProcess exporter(*full_, {"--no-collector.kmsg", "--no-collector.table"},
                             {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                              "--inh-caps=-all" + caps, "--ambient-caps=-all" + caps});
    EXPECT_TRUE(exporter.running()) << exporter.Stderr();
    std::string metrics;
    for (int i = 0; i < 100; ++i) {
      metrics = exporter.Scrape();
      if (metrics.find("nf_conntrack_netns_walk_timestamp_seconds") != std::string::npos) break;
      usleep(50000);
    }
    exporter.Terminate();
    return std::make_pair(metrics, exporter.Stderr());
  };
  auto [without, without_log] = run("");
  EXPECT_GE(MetricValue(without, "nf_conntrack_netns_unread_namespaces").value_or(0), 1);
  EXPECT_GE(MetricValue(without, "nf_conntrack_netns_unreadable_processes").value_or(0), 1);
  EXPECT_FALSE(MetricValue(without, "nf_conntrack_netns_entries" + quiet_labels));
  EXPECT_NE(without_log.find("needs CAP_SYS_ADMIN"), std::string::npos) << without_log;

  auto [with, with_log] = run(",+sys_admin");
  EXPECT_EQ(MetricValue(with, "nf_conntrack_netns_entries" + quiet_labels), 123) << with_log;
}

}  // namespace
}  // namespace nfct::testing
