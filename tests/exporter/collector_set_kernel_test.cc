// Sources that disappear or fail mid-run. The real kernel where it can be made to fail on demand
// (a stat file deleted from a copy of a fixture procfs root, a netns deleted and made again); the
// Env's Syscalls where it cannot (ENOBUFS, EINTR, an EPERM reply). Each time: the collector says
// unavailable or failed in nf_conntrack_scrape_collector_success and in exactly one log line, the
// other collectors are still served, and it recovers when the source is back.
// Root: netns of the test's own (label kernel).
#include <gtest/gtest.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <prometheus/text_serializer.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "collectors/log.h"
#include "collectors/netns/netns_collector.h"
#include "exporter/collector_set.h"
#include "tests/support/netns_fixture.h"

namespace nfct::testing {
namespace {

using namespace std::chrono_literals;

constexpr uint16_t kStatsReply = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET_STATS_CPU;
constexpr uint16_t kDumpReply = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_NEW;
constexpr int kEntries = 3000;

// The named collector's options from AllCollectors(), checked as the flags would be.
CollectorOptions Options(std::string_view collector, const OptionValues& given) {
  for (const auto& entry : AllCollectors()) {
    if (entry.name != collector) continue;
    auto checked = CollectorOptions::Check(collector, entry.options, given);
    EXPECT_EQ(checked.error, "");
    return checked.options;
  }
  ADD_FAILURE() << "no collector " << collector;
  return {};
}

// Faults for the netlink replies received through Env::syscalls, chosen by the reply's message
// type (peeked, so a fault that is not injected leaves the reply queued). Thread safe: the table
// worker receives while the test thread changes the rule.
class NetlinkFaults : public std::enable_shared_from_this<NetlinkFaults> {
 public:
  enum class Kind { kErrno, kErrorReply };
  struct Rule {
    uint16_t reply_type;
    Kind kind;
    int error;
    int pass_per_socket = 0;  // replies of that type each socket receives unharmed first
    int times = -1;           // faults to inject; -1: until Clear()
  };

  void Set(Rule rule) {
    std::lock_guard lock(mutex_);
    rule_ = rule;
    seen_.clear();
  }
  void Clear() {
    std::lock_guard lock(mutex_);
    rule_.reset();
  }
  int injected() const {
    std::lock_guard lock(mutex_);
    return injected_;
  }
  Syscalls Hook() {
    Syscalls syscalls;
    syscalls.recvmsg = [self = shared_from_this()](int fd, msghdr* message, int flags) {
      return self->Recvmsg(fd, message, flags);
    };
    return syscalls;
  }

 private:
  ssize_t Recvmsg(int fd, msghdr* message, int flags) {
    {
      std::lock_guard lock(mutex_);
      if (!rule_) return ::recvmsg(fd, message, flags);
    }
    nlmsghdr header{};
    ssize_t peeked = ::recv(fd, &header, sizeof header, MSG_PEEK);
    if (peeked < 0) return peeked;
    std::lock_guard lock(mutex_);
    if (!rule_ || peeked < static_cast<ssize_t>(sizeof header) ||
        header.nlmsg_type != rule_->reply_type ||
        seen_[header.nlmsg_pid]++ < rule_->pass_per_socket || rule_->times == 0) {
      return ::recvmsg(fd, message, flags);
    }
    if (rule_->times > 0) --rule_->times;
    ++injected_;
    if (rule_->kind == Kind::kErrno) {
      errno = rule_->error;
      return -1;
    }
    // The kernel's reply is consumed and answered, as nfnetlink answers a refused request,
    // with an NLMSG_ERROR carrying the request's sequence number.
    ssize_t n = ::recvmsg(fd, message, flags);
    if (n < 0) return n;
    struct {
      nlmsghdr header;
      nlmsgerr error;
    } reply{};
    reply.header = {sizeof reply, NLMSG_ERROR, 0, header.nlmsg_seq, header.nlmsg_pid};
    reply.error.error = -rule_->error;
    reply.error.msg = header;
    std::memcpy(message->msg_iov[0].iov_base, &reply, sizeof reply);
    return sizeof reply;
  }

  mutable std::mutex mutex_;
  std::optional<Rule> rule_;
  std::map<uint32_t, int> seen_;  // replies of the rule's type per socket (port id)
  int injected_ = 0;
};

// Log lines of the run, captured; counts occurrences of a fragment.
class CapturedLog {
 public:
  CapturedLog() { ConfigureLog(LogLevel::kInfo, LogFormat::kLogfmt, &out_); }
  ~CapturedLog() { ConfigureLog(LogLevel::kInfo, LogFormat::kLogfmt, nullptr); }
  size_t Count(std::string_view fragment) const {
    std::string text = out_.str();
    size_t n = 0;
    for (size_t pos = text.find(fragment); pos != std::string::npos;
         pos = text.find(fragment, pos + 1)) {
      ++n;
    }
    return n;
  }
  std::string Text() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

std::string Failed(std::string_view collector) {
  return "msg=\"collector failed\" collector=" + std::string(collector) + " ";
}
std::string Unavailable(std::string_view collector) {
  return "msg=\"collector unavailable\" collector=" + std::string(collector) + " ";
}
std::string Succeeded(std::string_view collector) {
  return "msg=\"collector succeeded\" collector=" + std::string(collector);
}

std::string Scrape(const CollectorSet& set) {
  return prometheus::TextSerializer().Serialize(set.Collect());
}

std::optional<double> Success(const std::string& text, std::string_view collector) {
  return MetricValue(
      text, "nf_conntrack_scrape_collector_success{collector=\"" + std::string(collector) + "\"}");
}

// Scrapes every 50 ms until `done` holds, at most 20 s; returns the last exposition.
std::string ScrapeUntil(const CollectorSet& set,
                        const std::function<bool(const std::string&)>& done) {
  std::string text = Scrape(set);
  for (auto end = std::chrono::steady_clock::now() + 20s;
       !done(text) && std::chrono::steady_clock::now() < end;) {
    std::this_thread::sleep_for(50ms);
    text = Scrape(set);
  }
  return text;
}

// A copy of the healthy fixture root that a test may change, removed at the end.
class ScratchRoot {
 public:
  ScratchRoot()
      : dir_(std::filesystem::temp_directory_path() / ("nfct-faults-" + std::to_string(getpid()))) {
    std::filesystem::remove_all(dir_);
    std::filesystem::copy(std::string(NFCT_SOURCE_DIR) + "/tests/fixtures/roots/healthy", dir_,
                          std::filesystem::copy_options::recursive);
  }
  ~ScratchRoot() { std::filesystem::remove_all(dir_); }
  std::filesystem::path proc() const { return dir_ / "proc"; }
  std::filesystem::path sys() const { return dir_ / "sys"; }
  std::filesystem::path stat_file() const { return proc() / "net/stat/nf_conntrack"; }

 private:
  std::filesystem::path dir_;
};

// The sysctl, stat and table collectors over the scratch root, with netlink requests going to
// `netns` through the faults' hook; the table dumped every 100 ms.
std::unique_ptr<CollectorSet> MakeSet(const ScratchRoot& root, const std::string& netns,
                                      NetlinkFaults& faults) {
  Env env;
  env.procfs = root.proc();
  env.sysfs = root.sys();
  env.netns = netns;
  env.syscalls = faults.Hook();
  BuiltCollectorSet built = BuildCollectorSet(
      AllCollectors(), {{"sysctl", true}, {"stat", true}, {"table", true}},
      {{"table", Options("table", {{"interval", "100ms"}, {"max-entries", "0"}})}}, env, false);
  EXPECT_TRUE(built.set) << built.error;
  built.set->Start();
  return std::move(built.set);
}

class Faults : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_UNLESS_KERNEL();
    ns_ = std::make_unique<TestNetns>("faults");
    ASSERT_EQ(ns_->CreateEntries({"--count=" + std::to_string(kEntries), "--state=established",
                                  "--timeout=3600"})
                  .exit_code,
              0);
    faults_ = std::make_shared<NetlinkFaults>();
    set_ = MakeSet(root_, "/run/netns/" + ns_->name(), *faults_);
    // Healthy first: a complete dump of every entry.
    std::string text = ScrapeUntil(*set_, [](const std::string& t) {
      return MetricValue(t, "nf_conntrack_table_dump_entries") == kEntries;
    });
    ASSERT_EQ(MetricValue(text, "nf_conntrack_table_dump_entries"), kEntries) << text;
  }
  void TearDown() override {
    if (set_) set_->Stop();
  }

  // Asserts that the others are served while `collector` is down.
  void ExpectOthersServed(const std::string& text, std::string_view collector) {
    for (std::string_view other : {"sysctl", "stat", "table"}) {
      if (other != collector) {
        EXPECT_EQ(Success(text, other), 1) << other << "\n" << text;
      }
    }
    EXPECT_TRUE(MetricValue(text, "nf_conntrack_entries").has_value()) << text;
  }

  // The stat collector keeps its file open (a kernel file is re-read with pread), so a file
  // deleted from the scratch root stays readable through that descriptor: the set is built anew
  // over a root without it, as on a kernel without CONFIG_NF_CONNTRACK_PROCFS.
  void RestartWithoutStatFile() {
    set_->Stop();
    std::filesystem::remove(root_.stat_file());
    set_ = MakeSet(root_, "/run/netns/" + ns_->name(), *faults_);
  }

  CapturedLog log_;
  ScratchRoot root_;
  std::unique_ptr<TestNetns> ns_;
  std::shared_ptr<NetlinkFaults> faults_;
  std::unique_ptr<CollectorSet> set_;
};

TEST_F(Faults, StatFileGoneFallsBackToNetlinkThenUnavailableWithoutIt) {
  std::ifstream in(root_.stat_file());
  std::string saved((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(saved.empty());
  RestartWithoutStatFile();
  // Gone from procfs: the counters come from netlink (in the test's netns), still a success.
  std::string text = Scrape(*set_);
  EXPECT_EQ(Success(text, "stat"), 1) << text;
  // And netlink refused, as without CAP_NET_ADMIN: unavailable, one line, whatever the scrapes.
  faults_->Set({kStatsReply, NetlinkFaults::Kind::kErrorReply, EPERM});
  for (int i = 0; i < 5; ++i) {
    text = Scrape(*set_);
    EXPECT_EQ(Success(text, "stat"), 0) << text;
    EXPECT_FALSE(MetricValue(text, "nf_conntrack_stat_drop_total")) << text;
    ExpectOthersServed(text, "stat");
  }
  EXPECT_EQ(log_.Count(Unavailable("stat")), 1u) << log_.Text();
  EXPECT_EQ(log_.Count("does not exist; netlink conntrack stats need CAP_NET_ADMIN"), 1u)
      << log_.Text();
  // The file back: read again, one more line.
  faults_->Clear();
  std::ofstream(root_.stat_file()) << saved;
  text = Scrape(*set_);
  EXPECT_EQ(Success(text, "stat"), 1) << text;
  EXPECT_TRUE(MetricValue(text, "nf_conntrack_stat_drop_total")) << text;
  // One line each from the first set and the one built anew, one for the recovery.
  EXPECT_EQ(log_.Count(Succeeded("stat")), 3u) << log_.Text();
  EXPECT_EQ(log_.Count("collector=sysctl"), 2u) << log_.Text();
}

TEST_F(Faults, NetlinkStatsEnobufsFailsOnceAndRecovers) {
  RestartWithoutStatFile();
  faults_->Set({kStatsReply, NetlinkFaults::Kind::kErrno, ENOBUFS});
  for (int i = 0; i < 5; ++i) {
    std::string text = Scrape(*set_);
    EXPECT_EQ(Success(text, "stat"), 0) << text;
    ExpectOthersServed(text, "stat");
  }
  EXPECT_EQ(log_.Count(Failed("stat")), 1u) << log_.Text();
  EXPECT_EQ(log_.Count("No buffer space available"), 1u) << log_.Text();
  faults_->Clear();
  EXPECT_EQ(Success(Scrape(*set_), "stat"), 1);
  EXPECT_EQ(log_.Count(Succeeded("stat")), 2u) << log_.Text();
}

TEST_F(Faults, NetlinkEintrIsRetried) {
  RestartWithoutStatFile();
  faults_->Set({kStatsReply, NetlinkFaults::Kind::kErrno, EINTR, 0, 3});
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Success(Scrape(*set_), "stat"), 1);
  EXPECT_EQ(faults_->injected(), 3);
  // Interrupted receives in the middle of a dump: the dump still counts every entry.
  faults_->Set({kDumpReply, NetlinkFaults::Kind::kErrno, EINTR, 1, 3});
  std::string text =
      ScrapeUntil(*set_, [&](const std::string&) { return faults_->injected() == 6; });
  ASSERT_EQ(faults_->injected(), 6);
  const double before = MetricValue(text, "nf_conntrack_table_dump_timestamp_seconds").value_or(0);
  text = ScrapeUntil(*set_, [&](const std::string& t) {
    return MetricValue(t, "nf_conntrack_table_dump_timestamp_seconds").value_or(0) > before;
  });
  EXPECT_EQ(Success(text, "table"), 1) << text;
  EXPECT_EQ(MetricValue(text, "nf_conntrack_table_dump_entries"), kEntries) << text;
  EXPECT_EQ(MetricValue(text,
                        "nf_conntrack_table_entries{family=\"ipv4\",protocol=\"tcp\","
                        "state=\"established\"}"),
            kEntries)
      << text;
  EXPECT_EQ(log_.Count("msg=\"collector failed\""), 0u) << log_.Text();
  EXPECT_EQ(log_.Count("msg=\"collector unavailable\""), 0u) << log_.Text();
}

TEST_F(Faults, TableDumpEnobufsMidwayServesNoPartialCounts) {
  // Every dump loses its socket buffer after the first reply: never a complete count.
  faults_->Set({kDumpReply, NetlinkFaults::Kind::kErrno, ENOBUFS, 1});
  std::string text =
      ScrapeUntil(*set_, [](const std::string& t) { return Success(t, "table") == 0; });
  // A dump attempt every 100 ms, or less often when the CPU budget asks (a sanitizer build's
  // dumps cost more): scrape until five broken dumps were seen, at most 20 s.
  for (int i = 0; i < 200 && (i < 10 || faults_->injected() < 5); ++i) {
    std::this_thread::sleep_for(100ms);
    text = Scrape(*set_);
    EXPECT_EQ(Success(text, "table"), 0) << text;
    // The breakdown of a broken dump is not served, and neither is the last complete one as if
    // it were current; the last complete dump's size and time still are.
    EXPECT_FALSE(text.find("nf_conntrack_table_entries{") != std::string::npos) << text;
    EXPECT_EQ(MetricValue(text, "nf_conntrack_table_dump_entries"), kEntries) << text;
    ExpectOthersServed(text, "table");
  }
  EXPECT_GE(faults_->injected(), 5);
  EXPECT_EQ(log_.Count(Failed("table")), 1u) << log_.Text();
  faults_->Clear();
  text = ScrapeUntil(*set_, [](const std::string& t) { return Success(t, "table") == 1; });
  EXPECT_EQ(MetricValue(text,
                        "nf_conntrack_table_entries{family=\"ipv4\",protocol=\"tcp\","
                        "state=\"established\"}"),
            kEntries)
      << text;
  EXPECT_EQ(log_.Count(Succeeded("table")), 2u) << log_.Text();
}

TEST_F(Faults, TableDumpRefusedIsUnavailableNamingTheCapability) {
  faults_->Set({kDumpReply, NetlinkFaults::Kind::kErrorReply, EPERM});
  std::string text =
      ScrapeUntil(*set_, [](const std::string& t) { return Success(t, "table") == 0; });
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(100ms);
    text = Scrape(*set_);
    EXPECT_EQ(Success(text, "table"), 0) << text;
    ExpectOthersServed(text, "table");
  }
  EXPECT_EQ(log_.Count(Unavailable("table")), 1u) << log_.Text();
  EXPECT_EQ(log_.Count("netlink conntrack dumps need CAP_NET_ADMIN"), 1u) << log_.Text();
  faults_->Clear();
  text = ScrapeUntil(*set_, [](const std::string& t) { return Success(t, "table") == 1; });
  EXPECT_EQ(Success(text, "table"), 1) << text;
  EXPECT_EQ(log_.Count(Succeeded("table")), 2u) << log_.Text();
}

// The netns the netlink requests go to is deleted, then made again under the same name.
TEST_F(Faults, NetlinkNetnsVanishingIsUnavailableUntilItIsBack) {
  set_->Stop();
  set_.reset();
  const std::string name = "nfct-faults-gone-" + std::to_string(getpid());
  ASSERT_EQ(RunCommand({"ip", "netns", "add", name}).exit_code, 0);
  struct Remove {
    std::string name;
    ~Remove() { RunCommand({"ip", "netns", "del", name}); }
  } remove{name};
  std::filesystem::remove(root_.stat_file());  // stat reads netlink too
  auto set = MakeSet(root_, "/run/netns/" + name, *faults_);
  std::string text = ScrapeUntil(*set, [](const std::string& t) {
    return MetricValue(t, "nf_conntrack_table_dump_entries") == 0 && Success(t, "stat") == 1;
  });
  ASSERT_EQ(Success(text, "table"), 1) << text;

  ASSERT_EQ(RunCommand({"ip", "netns", "del", name}).exit_code, 0);
  text = ScrapeUntil(*set, [](const std::string& t) { return Success(t, "table") == 0; });
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(100ms);
    text = Scrape(*set);
    EXPECT_EQ(Success(text, "stat"), 0) << text;
    EXPECT_EQ(Success(text, "table"), 0) << text;
    EXPECT_EQ(Success(text, "sysctl"), 1) << text;
  }
  EXPECT_EQ(log_.Count(Unavailable("stat")), 1u) << log_.Text();
  EXPECT_EQ(log_.Count(Unavailable("table")), 1u) << log_.Text();
  EXPECT_EQ(log_.Count("no such network namespace"), 2u) << log_.Text();

  ASSERT_EQ(RunCommand({"ip", "netns", "add", name}).exit_code, 0);
  text = ScrapeUntil(*set, [](const std::string& t) {
    return Success(t, "table") == 1 && Success(t, "stat") == 1;
  });
  EXPECT_EQ(Success(text, "stat"), 1) << text;
  EXPECT_EQ(Success(text, "table"), 1) << text;
  set->Stop();
}

// Forks short-lived children, reaped at once, until destroyed: processes that vanish between a
// walk's readdir and its reads of /proc/<pid>.
class ProcessChurn {
 public:
  ProcessChurn()
      : thread_([this] {
          while (!stop_) {
            pid_t pid = fork();
            if (pid == 0) _exit(0);
            if (pid > 0) waitpid(pid, nullptr, 0);
          }
        }) {}
  ~ProcessChurn() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A namespace deleted while the netns collector walks every 100 ms, again and again, and
// processes coming and going throughout: the namespace drops out of the series, and it is no
// fault: no unread namespace, no log line about it, success throughout. (Processes whose
// namespace cannot be told are the host's business: here pid 1's link refuses even root.)
TEST(NetnsFaults, NamespacesVanishingMidWalkAreNoFault) {
  SKIP_UNLESS_KERNEL();
  CapturedLog log;
  ProcessChurn churn;
  Env env;
  BuiltCollectorSet built = BuildCollectorSet(
      AllCollectors(), {{"netns", true}},
      {{"netns", Options("netns", {{"interval", "100ms"}, {"top", "100000"}})}}, env, false);
  ASSERT_TRUE(built.set) << built.error;
  built.set->Start();
  for (int round = 0; round < 5; ++round) {
    auto ns = std::make_unique<TestNetns>("faultwalk");
    ASSERT_EQ(ns->CreateEntries({"--count=7", "--proto=udp", "--timeout=3600"}).exit_code, 0);
    const std::string series = "nf_conntrack_netns_entries{netns=\"" + std::to_string(ns->inode()) +
                               "\",netns_name=\"" + ns->name() +
                               "\",pod_uid=\"\",container_id=\"\"}";
    std::string text =
        ScrapeUntil(*built.set, [&](const std::string& t) { return MetricValue(t, series) == 7; });
    EXPECT_EQ(MetricValue(text, series), 7) << text;
    ns.reset();  // deleted, most likely in the middle of a walk
    for (int i = 0; i < 6; ++i) {
      std::this_thread::sleep_for(50ms);
      text = Scrape(*built.set);
      EXPECT_EQ(Success(text, "netns"), 1) << text;
      EXPECT_EQ(MetricValue(text, "nf_conntrack_netns_unread_namespaces"), 0) << text;
    }
    text = ScrapeUntil(*built.set, [&](const std::string& t) { return !MetricValue(t, series); });
    EXPECT_FALSE(MetricValue(text, series)) << text;
  }
  built.set->Stop();
  EXPECT_EQ(log.Count(Succeeded("netns")), 1u) << log.Text();
  EXPECT_EQ(log.Count("network namespaces seen but not read"), 0u) << log.Text();
  EXPECT_EQ(log.Count("msg=\"collector failed\" collector=netns"), 0u) << log.Text();
  EXPECT_EQ(log.Count("msg=\"collector unavailable\" collector=netns"), 0u) << log.Text();
}

}  // namespace
}  // namespace nfct::testing
