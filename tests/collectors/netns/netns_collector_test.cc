// The netns walk over the fixture proc tree (tests/fixtures/roots/netns: one process per cgroup
// layout, named namespaces, vanished and unreadable processes) and the collector on top of it:
// top N with the rest summed, counters across walks (32-bit wrap, inode reuse, membership
// changes of "other"), a namespace destroyed between walks, hidepid hiding, options, golden output.
#include "collectors/netns/netns_collector.h"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <prometheus/text_serializer.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <thread>

#include "exporter/collector_set.h"
#include "tests/support/test_support.h"

namespace nfct {
namespace {

using namespace std::chrono_literals;

const char* const kHeader =
    "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop "
    "early_drop icmp_error  expect_new expect_create expect_delete search_restart\n";

// One CPU row per element: {entries, insert_failed, drop, early_drop}, other columns 0.
std::string StatText(const std::vector<std::array<uint32_t, 4>>& rows) {
  std::string text = kHeader;
  for (const auto& row : rows) {
    char line[256];
    std::snprintf(line, sizeof(line),
                  "%08x  00000000 00000000 00000000 00000000 00000000 00000000 00000000 "
                  "00000000 %08x %08x %08x 00000000  00000000 00000000 00000000 00000000\n",
                  row[0], row[1], row[2], row[3]);
    text += line;
  }
  return text;
}

// Stands in for setns(): answers per bind-mount path.
class FakeEnterer : public NetnsEnterer {
 public:
  std::map<std::string, FileRead> answers;
  std::vector<std::string> asked;
  std::vector<FileRead> ReadStat(const std::vector<std::string>& paths) override {
    std::vector<FileRead> reads;
    for (const auto& path : paths) {
      asked.push_back(path);
      auto it = answers.find(path);
      reads.push_back(it == answers.end() ? FileRead{"", ENOENT} : it->second);
    }
    return reads;
  }
};

std::unique_ptr<FakeEnterer> FixtureEnterer() {
  auto enterer = std::make_unique<FakeEnterer>();
  enterer->answers["/run/netns/qrouter-5f1e2d3c"] = {StatText({{900, 0, 11, 0}, {900, 1, 0, 0}})};
  enterer->answers["/run/netns/denied"] = {"", EPERM};
  enterer->answers["/run/docker/netns/1a2b3c4d5e6f"] = {StatText({{1, 0, 0, 0}, {1, 0, 0, 0}})};
  return enterer;  // "/run/netns/gone" answers ENOENT: deleted before it was entered
}

// A writable copy of the fixture root, removed at the end.
class NetnsFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("nfct-netns-test-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    std::filesystem::copy(
        testing::SourcePath("tests/fixtures/roots/netns"), root_,
        std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  Env FixtureEnv() const { return Env{root_ / "proc", root_ / "sys", testing::FrozenClock()}; }
  void Write(const std::string& relative, const std::string& text) {
    auto path = root_ / "proc" / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }

  std::filesystem::path root_;
};

std::string Repeat(std::string_view text, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += text;
  return out;
}

const NetnsInfo* Find(const NetnsWalk& walk, uint64_t inode) {
  for (const auto& info : walk.namespaces) {
    if (info.inode == inode) return &info;
  }
  return nullptr;
}

TEST_F(NetnsFixture, WalkFindsEveryNamespaceOnce) {
  auto enterer = FixtureEnterer();
  NetnsWalk walk = WalkNetns(FixtureEnv(), *enterer);
  ASSERT_TRUE(walk.status.ok()) << walk.status.reason();
  EXPECT_EQ(walk.processes, 16u);            // every numeric directory
  EXPECT_EQ(walk.unreadable_processes, 1u);  // 700: a link that is not a netns; 800 vanished
  // 12 held by processes, qrouter and the Docker mount entered, denied seen; gone vanished.
  EXPECT_EQ(walk.namespaces.size(), 15u);
  EXPECT_EQ(walk.Unread(), 1u);

  const NetnsInfo* host = Find(walk, 4026531840);
  ASSERT_TRUE(host);
  EXPECT_EQ(host->reader_pid, 1);
  EXPECT_EQ(host->entries, 1234u);
  EXPECT_EQ(host->pod_uid, "");

  const NetnsInfo* pod = Find(walk, 4026532301);
  ASSERT_TRUE(pod);
  EXPECT_EQ(pod->reader_pid, 100);  // the lowest pid: the pod's pause process
  EXPECT_EQ(pod->pod_uid, "7a1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
  EXPECT_EQ(pod->container_id, "11111111" + std::string(56, 'a'));
  EXPECT_EQ(pod->entries, 5000u);
  EXPECT_EQ(pod->stat.rows.size(), 2u);

  const NetnsInfo* blue = Find(walk, 4026532310);
  ASSERT_TRUE(blue);
  EXPECT_EQ(blue->name, "blue");  // held by pid 600 and bind-mounted
  EXPECT_EQ(blue->reader_pid, 600);

  const NetnsInfo* reread = Find(walk, 4026532311);
  ASSERT_TRUE(reread);
  EXPECT_EQ(reread->reader_pid, 901);  // 900 exited before its stat was read

  const NetnsInfo* qrouter = Find(walk, 4026532320);
  ASSERT_TRUE(qrouter);
  EXPECT_TRUE(qrouter->read);
  EXPECT_EQ(qrouter->name, "qrouter-5f1e2d3c");
  EXPECT_EQ(qrouter->reader_pid, 0);
  EXPECT_EQ(qrouter->mount_id, 46u);
  EXPECT_EQ(qrouter->entries, 900u);

  const NetnsInfo* denied = Find(walk, 4026532321);
  ASSERT_TRUE(denied);
  EXPECT_FALSE(denied->read);
  EXPECT_NE(denied->unread_reason.find("CAP_SYS_ADMIN"), std::string::npos);
  EXPECT_EQ(walk.namespaces.back().inode, 4026532321u);  // unread ones last

  EXPECT_FALSE(Find(walk, 4026532322));  // "gone"
  EXPECT_TRUE(Find(walk, 4026532323));   // the Docker bind mount, no name
  // Only namespaces no process holds are entered.
  EXPECT_EQ(enterer->asked.size(), 4u);

  // Fullest first.
  EXPECT_EQ(walk.namespaces[0].inode, 4026532301u);
  EXPECT_EQ(walk.namespaces[1].inode, 4026531840u);
  EXPECT_EQ(walk.namespaces[2].inode, 4026532320u);
}

TEST_F(NetnsFixture, EveryCgroupLayoutOfTheFixtureTree) {
  auto enterer = FixtureEnterer();
  NetnsWalk walk = WalkNetns(FixtureEnv(), *enterer);
  const std::map<uint64_t, std::pair<std::string, std::string>> want = {
      {4026532302, {"0b1c2d3e-4f50-4617-8a9b-0c1d2e3f4a5b", std::string(64, '3')}},
      {4026532303, {"c0ffee00-1234-4abc-9def-001122334455", std::string(64, '4')}},
      {4026532304, {"5a5a5a5a-6b6b-4c7c-8d8d-9e9e9e9e9e9e", std::string(64, '5')}},
      {4026532305, {"ffffffff" + std::string(24, '0'), std::string(64, '6')}},
      {4026532306, {"", std::string(64, '7')}},
      {4026532307, {"", std::string(64, '8')}},
      {4026532308, {"", std::string(64, '9')}},
      {4026532309, {"", Repeat("ab", 32)}},
      {4026532310, {"", ""}},
  };
  for (const auto& [inode, ref] : want) {
    const NetnsInfo* info = Find(walk, inode);
    ASSERT_TRUE(info) << inode;
    EXPECT_EQ(info->pod_uid, ref.first) << inode;
    EXPECT_EQ(info->container_id, ref.second) << inode;
  }
}

TEST_F(NetnsFixture, UnavailableWithoutTheModuleOrProcfsStats) {
  FakeEnterer enterer;
  std::filesystem::remove(root_ / "proc/self/net/stat/nf_conntrack");
  NetnsWalk no_procfs = WalkNetns(FixtureEnv(), enterer);
  EXPECT_EQ(no_procfs.status.code(), Status::Code::kUnavailable);
  EXPECT_NE(no_procfs.status.reason().find("CONFIG_NF_CONNTRACK_PROCFS"), std::string::npos);

  std::filesystem::remove(root_ / "proc/sys/net/netfilter/nf_conntrack_max");
  NetnsWalk no_module = WalkNetns(FixtureEnv(), enterer);
  EXPECT_EQ(no_module.status.code(), Status::Code::kUnavailable);
  EXPECT_NE(no_module.status.reason().find("not loaded"), std::string::npos);
  EXPECT_TRUE(no_module.namespaces.empty());
  EXPECT_TRUE(enterer.asked.empty());
}

// Scrapes a collector into {"family{netns}" -> value}.
std::map<std::string, double> Scrape(NetnsCollector& collector, Status* status = nullptr) {
  FamilySink sink;
  Status result = collector.Collect(sink);
  if (status) *status = result;
  std::map<std::string, double> values;
  for (const auto& family : sink.Take()) {
    for (const auto& metric : family.metric) {
      std::string key = family.name;
      for (const auto& label : metric.label) {
        if (label.name == "netns") key += "{" + label.value + "}";
      }
      values[key] = family.type == prometheus::MetricType::Counter ? metric.counter.value
                                                                   : metric.gauge.value;
    }
  }
  return values;
}

TEST_F(NetnsFixture, TopNKeepsTheFullestAndSumsTheRest) {
  NetnsCollector collector(FixtureEnv(), {30s, 3}, FixtureEnterer());
  collector.RunOnce();
  Status status = Status::Ok();
  auto values = Scrape(collector, &status);
  // One namespace not entered and one process not identified: a partial view is not a success,
  // yet what was read is served.
  EXPECT_EQ(status.code(), Status::Code::kUnavailable);
  EXPECT_NE(
      status.reason().find("seen but not read: entering /run/netns/denied needs CAP_SYS_ADMIN"),
      std::string::npos)
      << status.reason();
  EXPECT_EQ(values["nf_conntrack_netns_processes_hidden"], 0);
  size_t entry_series = 0;
  for (const auto& [key, value] : values) {
    if (key.starts_with("nf_conntrack_netns_entries{")) ++entry_series;
  }
  EXPECT_EQ(entry_series, 4u);  // 3 + other
  EXPECT_EQ(values["nf_conntrack_netns_entries{4026532301}"], 5000);
  EXPECT_EQ(values["nf_conntrack_netns_entries{4026531840}"], 1234);
  EXPECT_EQ(values["nf_conntrack_netns_entries{4026532320}"], 900);
  // 300 + 70 + 40 + 20 + 10 + 8 + 6 + 4 + 3 + 2 + 1
  EXPECT_EQ(values["nf_conntrack_netns_entries{other}"], 464);
  // Host: drops 5 + 7; pod: 100 + 0xfffffff0; qrouter 11.
  EXPECT_EQ(values["nf_conntrack_netns_stat_drop_total{4026531840}"], 12);
  EXPECT_EQ(values["nf_conntrack_netns_stat_drop_total{4026532301}"], 100.0 + 0xfffffff0u);
  EXPECT_EQ(values["nf_conntrack_netns_stat_early_drop_total{4026532301}"], 42);
  EXPECT_EQ(values["nf_conntrack_netns_stat_insert_failed_total{4026531840}"], 3);
  EXPECT_EQ(values["nf_conntrack_netns_stat_insert_failed_total{4026532320}"], 1);
  EXPECT_EQ(values["nf_conntrack_netns_stat_drop_total{other}"], 0);
  EXPECT_EQ(values["nf_conntrack_netns_namespaces"], 15);
  EXPECT_EQ(values["nf_conntrack_netns_unread_namespaces"], 1);
  EXPECT_EQ(values["nf_conntrack_netns_unreadable_processes"], 1);
  EXPECT_EQ(values["nf_conntrack_netns_walk_timestamp_seconds"], 1700000000);

  // Every read namespace's entries, whatever the bound: the honest numerator.
  double sum = 0;
  for (const auto& [key, value] : values) {
    if (key.starts_with("nf_conntrack_netns_entries{")) sum += value;
  }
  EXPECT_EQ(sum, 5000 + 1234 + 900 + 464);
}

TEST_F(NetnsFixture, CountersAcrossWalks) {
  NetnsCollector collector(FixtureEnv(), {30s, 2}, FixtureEnterer());
  collector.RunOnce();
  // CPU 1 of the pod netns wraps: 0xfffffff0 -> 0x10 is 0x20 more drops, not a reset.
  Write("100/net/stat/nf_conntrack", StatText({{5000, 3, 100, 40}, {5000, 0, 0x10, 2}}));
  // The Docker netns (in "other") drops 5 packets.
  Write("400/net/stat/nf_conntrack", StatText({{8, 0, 5, 0}, {8, 0, 0, 0}}));
  collector.RunOnce();
  auto values = Scrape(collector);
  EXPECT_EQ(values["nf_conntrack_netns_stat_drop_total{4026532301}"], 100.0 + 0xfffffff0u + 0x20);
  // qrouter's 11 from the first walk, then the Docker netns's 5.
  EXPECT_EQ(values["nf_conntrack_netns_stat_drop_total{other}"], 16);

  // qrouter (in "other") grows past the host: the host moves into "other" and brings only
  // what it counted since the last walk, so "other" never goes down.
  auto enterer = FixtureEnterer();
  FakeEnterer* answers = enterer.get();
  NetnsCollector moved(FixtureEnv(), {30s, 2}, std::move(enterer));
  moved.RunOnce();
  auto first = Scrape(moved);
  EXPECT_TRUE(first.contains("nf_conntrack_netns_entries{4026531840}"));
  answers->answers["/run/netns/qrouter-5f1e2d3c"] = {StatText({{2000, 0, 11, 0}, {2000, 1, 0, 0}})};
  Write("1/net/stat/nf_conntrack", StatText({{1234, 2, 7, 1}, {1234, 1, 7, 0}}));  // +2 drops
  moved.RunOnce();
  auto second = Scrape(moved);
  EXPECT_FALSE(second.contains("nf_conntrack_netns_entries{4026531840}"));
  EXPECT_EQ(second["nf_conntrack_netns_entries{4026532320}"], 2000);
  EXPECT_EQ(second["nf_conntrack_netns_stat_drop_total{other}"] -
                first["nf_conntrack_netns_stat_drop_total{other}"],
            2);
}

TEST_F(NetnsFixture, ANamespaceDestroyedBetweenWalksDisappearsQuietly) {
  NetnsCollector collector(FixtureEnv(), {30s, 100}, FixtureEnterer());
  collector.RunOnce();
  Status before = Status::Ok();
  EXPECT_TRUE(Scrape(collector, &before).contains("nf_conntrack_netns_entries{4026532302}"));
  std::filesystem::remove_all(root_ / "proc/200");
  collector.RunOnce();
  Status status = Status::Ok();
  auto values = Scrape(collector, &status);
  EXPECT_TRUE(status == before) << status.reason();  // no new blind spot, no log line
  EXPECT_FALSE(values.contains("nf_conntrack_netns_entries{4026532302}"));
  EXPECT_FALSE(values.contains("nf_conntrack_netns_stat_drop_total{4026532302}"));
  EXPECT_EQ(values["nf_conntrack_netns_namespaces"], 14);
}

TEST_F(NetnsFixture, AReusedInodeWithANewReaderRestartsItsCounters) {
  NetnsCollector collector(FixtureEnv(), {30s, 100}, FixtureEnterer());
  collector.RunOnce();
  // The pod is deleted and a new namespace gets the same inode (the kernel hands out the
  // lowest free number): a new process, counters from zero.
  std::filesystem::remove_all(root_ / "proc/100");
  std::filesystem::remove_all(root_ / "proc/101");
  std::filesystem::create_directories(root_ / "proc/120/ns");
  std::filesystem::create_symlink("net:[4026532301]", root_ / "proc/120/ns/net");
  Write("120/cgroup", "0::/\n");
  Write("120/net/stat/nf_conntrack", StatText({{7, 0, 2, 0}, {7, 0, 1, 0}}));
  collector.RunOnce();
  auto values = Scrape(collector);
  EXPECT_EQ(values["nf_conntrack_netns_entries{4026532301}"], 7);
  EXPECT_EQ(values["nf_conntrack_netns_stat_drop_total{4026532301}"], 3);
}

TEST_F(NetnsFixture, AScrapeReportsTheSnapshotsAgeFromTheSteadyClock) {
  auto steady = std::make_shared<std::chrono::steady_clock::time_point>(100s);
  Env env = FixtureEnv();
  env.clock.steady = [steady] { return *steady; };
  NetnsCollector collector(env, {30s, 5}, FixtureEnterer());
  collector.RunOnce();
  EXPECT_EQ(Scrape(collector)["nf_conntrack_netns_snapshot_age_seconds"], 0);
  *steady += 42500ms;  // no walk in between: the same snapshot, older
  EXPECT_EQ(Scrape(collector)["nf_conntrack_netns_snapshot_age_seconds"], 42.5);
  EXPECT_EQ(Scrape(collector)["nf_conntrack_netns_walk_timestamp_seconds"], 1700000000);
  collector.RunOnce();
  *steady += 1s;
  EXPECT_EQ(Scrape(collector)["nf_conntrack_netns_snapshot_age_seconds"], 1);
}

// hidepid=invisible (systemd's ProtectProc=invisible) lists only the processes this one may
// ptrace. Without CAP_SYS_PTRACE permitted the walk cannot raise it, so it must say that part of
// the host is hidden; with it permitted, the listing is whole and nothing is said.
TEST_F(NetnsFixture, HidepidWithoutCapSysPtraceIsAHiddenPartNeverASuccess) {
  std::ifstream in(root_ / "proc/self/mountinfo");
  std::string mountinfo((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Write("self/mountinfo", mountinfo + "1197 1180 0:93 / " + (root_ / "proc").string() +
                              " rw,nosuid - proc proc rw,hidepid=invisible\n");
  auto enterer = FixtureEnterer();
  enterer->answers["/run/netns/denied"] = {StatText({{5, 0, 0, 0}})};
  NetnsCollector collector(FixtureEnv(), {30s, 100}, std::move(enterer));
  // A thread of its own drops CAP_SYS_PTRACE from its permitted set (capset is per thread), as
  // a unit without it in CapabilityBoundingSet= would.
  std::thread([&] {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    ASSERT_EQ(syscall(SYS_capget, &header, data), 0);
    for (auto& word : data) {
      if (CAP_SYS_PTRACE < 32) word.permitted &= ~(1u << CAP_SYS_PTRACE);
      word.effective &= word.permitted;
    }
    ASSERT_EQ(syscall(SYS_capset, &header, data), 0);
    ASSERT_FALSE(CapabilityPermitted(Capability::kSysPtrace));
    collector.RunOnce();
  }).join();
  Status status = Status::Ok();
  auto values = Scrape(collector, &status);
  EXPECT_EQ(status.code(), Status::Code::kUnavailable);
  EXPECT_NE(status.reason().find("other users' processes are hidden (" + (root_ / "proc").string() +
                                 " mounted with hidepid=invisible, CAP_SYS_PTRACE not permitted)"),
            std::string::npos)
      << status.reason();
  EXPECT_EQ(values["nf_conntrack_netns_processes_hidden"], 1);
  // Without the capability, the unreadable process (700) is a blind spot too.
  EXPECT_NE(status.reason().find("/proc/<pid>/ns/net needs CAP_SYS_PTRACE"), std::string::npos)
      << status.reason();
  // What was seen is still served.
  EXPECT_EQ(values["nf_conntrack_netns_entries{4026532301}"], 5000);

  if (!CapabilityPermitted(Capability::kSysPtrace)) {
    GTEST_SKIP() << "CAP_SYS_PTRACE not permitted here (not root): the whole-listing half needs it";
  }
  NetnsCollector whole(FixtureEnv(), {30s, 100}, FixtureEnterer());
  whole.RunOnce();
  auto seen = Scrape(whole, &status);
  EXPECT_EQ(seen["nf_conntrack_netns_processes_hidden"], 0);
  EXPECT_EQ(status.reason().find("hidden"), std::string::npos) << status.reason();
}

CollectorOptions::Checked CheckNetns(const OptionValues& given) {
  return CollectorOptions::Check("netns", NetnsCollectorOptions(), given);
}

TEST(NetnsOptions, TypedFromTheDeclarations) {
  auto checked = CheckNetns({{"interval", "15s"}, {"top", "7"}});
  ASSERT_EQ(checked.error, "");
  NetnsOptions options = NetnsOptionsFrom(checked.options);
  EXPECT_EQ(options.interval, 15s);
  EXPECT_EQ(options.top, 7u);
  EXPECT_EQ(NetnsOptionsFrom(CheckNetns({{"top", "0"}}).options).top, 0u);
  // The declared defaults are the struct's own.
  NetnsOptions defaults = NetnsOptionsFrom(CheckNetns({}).options);
  EXPECT_EQ(defaults.interval, NetnsOptions{}.interval);
  EXPECT_EQ(defaults.top, NetnsOptions{}.top);
  for (const char* bad : {"-1", "x", "100001", "1 ", "1.5"}) {
    EXPECT_EQ(CheckNetns({{"top", bad}}).error,
              "--collector.netns.top: must be a whole number from 0 to 100000")
        << bad;
  }
  for (const char* bad : {"0s", "10", "soon"}) {
    EXPECT_EQ(CheckNetns({{"interval", bad}}).error,
              "--collector.netns.interval: must be a positive duration such as 30s or 500ms")
        << bad;
  }
}

TEST_F(NetnsFixture, StartAndStopTheWorker) {
  NetnsCollector collector(FixtureEnv(), {10ms, 5}, FixtureEnterer());
  collector.Start();
  for (int i = 0; i < 200 && !Scrape(collector).contains("nf_conntrack_netns_namespaces"); ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(Scrape(collector)["nf_conntrack_netns_namespaces"], 15);
  auto begin = std::chrono::steady_clock::now();
  collector.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 1s);
}

TEST_F(NetnsFixture, GoldenExposition) {
  // tests/golden/netns.prom: every family of the collector as a scrape serves it.
  Env env = FixtureEnv();
  auto collector = std::make_unique<NetnsCollector>(env, NetnsOptions{30s, 5}, FixtureEnterer());
  collector->RunOnce();
  std::vector<CollectorSet::Named> named;
  named.push_back({"netns", std::move(collector)});
  CollectorSet set(std::move(named), env.clock, false);
  testing::ExpectGolden("netns", prometheus::TextSerializer().Serialize(set.Collect()));
}

}  // namespace
}  // namespace nfct
