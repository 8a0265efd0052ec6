// The table collector's CPU budget against the real kernel, with default flags: 600,000 entries
// (above the default nf_conntrack_max, so the global max is raised for the test's length and
// restored however the test ends), the breakdown served, the exporter's whole CPU within the
// budget, and a fresh dump soon after the table turns full and drops. Label `kernel`, RUN_SERIAL.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/netns_fixture.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NFCT_UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define NFCT_UNDER_SANITIZER 1
#endif
#endif

namespace nfct::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kLockPath = "/tmp/nfct-exclusive.lock";
constexpr const char* kMaxPath = "/proc/sys/net/netfilter/nf_conntrack_max";
constexpr long kEntries = 600000;
constexpr long kRaisedMax = 640000;  // room for the entries, then little to fill before drops

// Whether a process among this one's ancestors holds a flock on the file open as `fd`: the test
// was started as `flock /tmp/nfct-exclusive.lock ctest ...`, and taking the lock again (on another
// open file description) would wait for ourselves forever.
bool LockHeldByAncestor(int fd) {
  struct stat file {};
  if (fstat(fd, &file) != 0) return false;
  // /proc/locks: "1: FLOCK  ADVISORY  WRITE 4242 00:1d:1234 0 EOF" (pid, major:minor:inode).
  std::ifstream locks("/proc/locks");
  std::vector<pid_t> holders;
  for (std::string line; std::getline(locks, line);) {
    std::istringstream fields(line);
    std::string id, kind, mode, access, device;
    pid_t pid = 0;
    if (!(fields >> id >> kind >> mode >> access >> pid >> device) || kind != "FLOCK") continue;
    auto colon = device.rfind(':');
    if (colon != std::string::npos &&
        std::stoull(device.substr(colon + 1)) == static_cast<unsigned long long>(file.st_ino)) {
      holders.push_back(pid);
    }
  }
  for (pid_t pid = getppid(); pid > 1;) {
    if (std::find(holders.begin(), holders.end(), pid) != holders.end()) return true;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    auto paren = text.rfind(')');
    if (paren == std::string::npos) break;
    std::istringstream rest(text.substr(paren + 2));
    std::string state;
    pid_t parent = 0;
    if (!(rest >> state >> parent)) break;
    pid = parent;
  }
  return false;
}

// Takes the machine-wide lock (unless an ancestor holds it for us), then sets the global
// nf_conntrack_max. A child process that holds
// the lock as well waits for this process to close a pipe, which happens however it ends (a
// failed assertion, a signal, SIGKILL from a ctest timeout), then writes the old value back and
// only then lets the lock go.
class GlobalMaxRaised {
 public:
  explicit GlobalMaxRaised(long value) {
    lock_fd_ = open(kLockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (lock_fd_ >= 0 && flock(lock_fd_, LOCK_EX | LOCK_NB) != 0 && !LockHeldByAncestor(lock_fd_) &&
        flock(lock_fd_, LOCK_EX) != 0) {
      close(lock_fd_);
      lock_fd_ = -1;
    }
    if (lock_fd_ < 0) {
      error_ = std::string("cannot lock ") + kLockPath;
      return;
    }
    old_ = ReadNumberFile(kMaxPath);
    if (old_ <= 0) {
      error_ = "cannot read nf_conntrack_max";
      return;
    }
    // Formatted before fork: the child runs only async-signal-safe calls.
    int length = std::snprintf(old_text_, sizeof(old_text_), "%ld\n", old_);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      error_ = "pipe failed";
      return;
    }
    guardian_ = fork();
    if (guardian_ == 0) {
      close(fds[1]);
      // Its own session and deaf to the usual signals: a Ctrl-C or a group kill aimed at the
      // test must not stop the restore.
      setsid();
      for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) signal(sig, SIG_IGN);
      char byte;
      while (read(fds[0], &byte, 1) != 0) {
      }
      int fd = open(kMaxPath, O_WRONLY);
      if (fd >= 0) {
        (void)!write(fd, old_text_, static_cast<size_t>(length));
        close(fd);
      }
      _exit(0);
    }
    close(fds[0]);
    pipe_fd_ = fds[1];
    if (guardian_ < 0) {
      error_ = "fork failed";
      return;
    }
    std::ofstream(kMaxPath) << value << "\n";
    if (ReadNumberFile(kMaxPath) != value) error_ = "cannot write nf_conntrack_max";
  }
  ~GlobalMaxRaised() {
    if (pipe_fd_ >= 0) close(pipe_fd_);
    if (guardian_ > 0) waitpid(guardian_, nullptr, 0);
    if (lock_fd_ >= 0) close(lock_fd_);
  }
  GlobalMaxRaised(const GlobalMaxRaised&) = delete;
  GlobalMaxRaised& operator=(const GlobalMaxRaised&) = delete;

  const std::string& error() const { return error_; }
  long old() const { return old_; }

 private:
  int lock_fd_ = -1;
  int pipe_fd_ = -1;
  pid_t guardian_ = -1;
  long old_ = -1;
  char old_text_[32] = {};
  std::string error_;
};

// User + system CPU of a whole process (every thread), from /proc/<pid>/stat.
double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto paren = text.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(text.substr(paren + 2));
  std::string field;
  double utime = 0, stime = 0;
  // After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
  for (int index = 3; index <= 15 && fields >> field; ++index) {
    if (index == 14) utime = std::stod(field);
    if (index == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

double Dumps(const std::string& metrics, const char* trigger) {
  return MetricValue(metrics,
                     std::string("nf_conntrack_table_dumps_total{trigger=\"") + trigger + "\"}")
      .value_or(0);
}

TEST(TableBudgetKernel, SixHundredThousandEntriesWithDefaultFlags) {
  SKIP_UNLESS_KERNEL();
#ifdef NFCT_UNDER_SANITIZER
  GTEST_SKIP() << "a CPU-cost test: under a sanitizer it would measure the sanitizer";
#endif
  GlobalMaxRaised raised(kRaisedMax);
  ASSERT_EQ(raised.error(), "");
  TestNetns ns("tablebudget");

  auto created_at = std::chrono::steady_clock::now();
  CommandResult made = ns.CreateEntries(
      {"--count=" + std::to_string(kEntries), "--state=established", "--dport=443", "--dports=20"});
  ASSERT_EQ(made.exit_code, 0) << made.out;
  std::printf("created %ld entries in %.1f s\n", kEntries,
              Seconds(std::chrono::steady_clock::now() - created_at));

  ExporterProcess exporter(ns, {});
  ASSERT_TRUE(exporter.running()) << exporter.Stderr();
  auto started = std::chrono::steady_clock::now();
  std::string m;
  while (std::chrono::steady_clock::now() - started < 90s) {
    m = exporter.Scrape();
    if (MetricValue(m, "nf_conntrack_table_dump_entries")) break;
    std::this_thread::sleep_for(500ms);
  }
  double first_after = Seconds(std::chrono::steady_clock::now() - started);
  ASSERT_TRUE(MetricValue(m, "nf_conntrack_table_dump_entries")) << "no breakdown within 90 s";
  // A dump is not a snapshot, but nothing here comes or goes: every entry is seen.
  EXPECT_EQ(MetricValue(m, "nf_conntrack_table_dump_entries"), kEntries);
  EXPECT_EQ(MetricValue(m,
                        "nf_conntrack_table_entries{family=\"ipv4\",protocol=\"tcp\","
                        "state=\"established\"}"),
            kEntries);
  EXPECT_EQ(MetricValue(m, "nf_conntrack_table_entries_by_port{protocol=\"tcp\",port=\"443\"}"),
            kEntries / 20);
  double budget = MetricValue(m, "nf_conntrack_table_dump_cpu_budget_ratio").value_or(-1);
  EXPECT_EQ(budget, 0.05);
  double first_cpu = MetricValue(m, "nf_conntrack_table_dump_cpu_seconds_total").value_or(0);
  std::printf(
      "breakdown after %.1f s; first dump: %.2f s CPU, %.2f s wall, %.2f s CPU per million; "
      "next in %.1f s\n",
      first_after, first_cpu,
      MetricValue(m, "nf_conntrack_table_dump_duration_seconds").value_or(0),
      first_cpu * 1e6 / kEntries,
      MetricValue(m, "nf_conntrack_table_dump_interval_seconds").value_or(0));

  // Two minutes of the exporter's whole CPU, scraped every 15 s as Prometheus would.
  double cpu_before = ProcessCpuSeconds(exporter.pid());
  double dumps_before = Dumps(m, "schedule");
  auto window_start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - window_start < 120s) {
    std::this_thread::sleep_for(15s);
    m = exporter.Scrape();
  }
  double window = Seconds(std::chrono::steady_clock::now() - window_start);
  double cpu = ProcessCpuSeconds(exporter.pid()) - cpu_before;
  double dumps = Dumps(m, "schedule") - dumps_before;
  double dump_cpu = MetricValue(m, "nf_conntrack_table_dump_cpu_seconds_total").value_or(0);
  std::printf(
      "window %.1f s: exporter CPU %.2f s (%.2f %% of one CPU, budget %.0f %%), %g dumps, "
      "dump CPU so far %.2f s\n",
      window, cpu, 100 * cpu / window, 100 * budget, dumps, dump_cpu);
  EXPECT_GE(dumps, 1) << "no dump in the window: the budget was not put to the test";
  EXPECT_LE(cpu, budget * window);

  // Full, then dropping: a fresh dump within 20 s of the first drop.
  ASSERT_GT(ns.FillToMax(), 0);
  uint64_t drops_before = KernelStatSum(ns, "drop");
  auto dropped_at = std::chrono::system_clock::now();
  auto dropped_steady = std::chrono::steady_clock::now();
  SendResult sent = ns.SendUdpFlows(50, 20000);
  ASSERT_GT(sent.eperm, 0) << "the full table did not drop";
  ASSERT_GT(KernelStatSum(ns, "drop"), drops_before);
  double dropped_unix = std::chrono::duration<double>(dropped_at.time_since_epoch()).count();
  bool fresh = false;
  while (std::chrono::steady_clock::now() - dropped_steady < 30s) {
    m = exporter.Scrape();
    if (MetricValue(m, "nf_conntrack_table_dump_timestamp_seconds").value_or(0) > dropped_unix &&
        Dumps(m, "dropping") >= 1) {
      fresh = true;
      break;
    }
    std::this_thread::sleep_for(250ms);
  }
  double fresh_after = Seconds(std::chrono::steady_clock::now() - dropped_steady);
  std::printf("after the first drop: a fresh dump (trigger dropping) within %.1f s\n", fresh_after);
  ASSERT_TRUE(fresh) << m;
  EXPECT_LE(fresh_after, 20.0);
  EXPECT_EQ(MetricValue(m, "nf_conntrack_table_dump_entries"), kRaisedMax);
}

}  // namespace
}  // namespace nfct::testing
