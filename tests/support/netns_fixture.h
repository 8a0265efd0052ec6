// Real-kernel test support: a network namespace of the test's own with conntrack switched on,
// loopback untracked and a packet sink; the built exporter run inside it; helpers to make
// entries and drops. Used by every test labelled `kernel`. Not thread safe per object; each
// TestNetns is owned by one test. Everything it creates is removed by name/PID on destruction.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace nfct::testing {

// "" when this process can run kernel tests (root, conntrack, ip, nft); else why not.
std::string KernelSkipReason();

// The first line of every real-kernel test: skips it, with the reason, where it cannot run.
#define SKIP_UNLESS_KERNEL() \
  if (auto why = KernelSkipReason(); !why.empty()) GTEST_SKIP() << why

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
};
// Runs argv (no shell), capturing stdout; stderr passes through to the test log.
CommandResult RunCommand(const std::vector<std::string>& argv);

struct SendResult {
  int sent = 0;   // sendto() succeeded
  int eperm = 0;  // sendto() failed with EPERM: the packet was dropped by netfilter
  int other_errors = 0;
};

// Reads a whole file and returns the number in it, or -1.
long ReadNumberFile(const std::string& path);

class TestNetns {
 public:
  // Creates netns "nfct-<tag>-<pid>-<n>": lo up; nftables: loopback notrack, `ct state new`
  // accept on output; veth "sink0" (peer down) with 198.18.0.1/15 and 2001:db8::1/32, so
  // packets to 198.19.0.1 or 2001:db8:2::1 are tracked and then vanish.
  explicit TestNetns(std::string_view tag);
  ~TestNetns();
  TestNetns(const TestNetns&) = delete;
  TestNetns& operator=(const TestNetns&) = delete;

  const std::string& name() const { return name_; }
  ino_t inode() const { return inode_; }

  CommandResult Run(const std::vector<std::string>& argv) const;
  long Count() const;  // nf_conntrack_count inside
  // Runs tests/tools/ct_create inside with the given flags.
  CommandResult CreateEntries(const std::vector<std::string>& flags) const;
  // Fills the netns to the (unchanged, global) nf_conntrack_max with ASSURED UDP entries.
  // Returns how many were created.
  long FillToMax() const;
  // One UDP datagram to each of `count` new destination ports on 198.19.0.1 from one socket.
  SendResult SendUdpFlows(int count, int first_port) const;
  // `packets` UDP datagrams to 198.19.0.1:port from one socket: one flow, and in a full table
  // each datagram refused again (EPERM).
  SendResult SendUdpTo(int port, int packets) const;

  // Runs fn on a thread that has entered this netns (setns is per thread).
  template <typename Fn>
  auto Within(Fn fn) const -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task([this, &fn] {
      EnterOnThisThread();
      return fn();
    });
    auto result = task.get_future();
    std::thread(std::move(task)).join();
    return result.get();
  }

 private:
  void EnterOnThisThread() const;
  std::string name_;
  ino_t inode_ = 0;
};

// Sum of one /proc/net/stat/nf_conntrack column over CPUs, from the file's text; 0 if absent.
uint64_t StatColumnSum(const std::string& stat_text, const std::string& column);
// The same, read inside the netns.
uint64_t KernelStatSum(const TestNetns& ns, const std::string& column);

// The built exporter, started inside a netns on 127.0.0.1:0 and stopped with SIGTERM.
// `wrapper` goes before the binary, e.g. {"setpriv", "--reuid=65534", ...} to drop privileges.
class ExporterProcess {
 public:
  ExporterProcess(const TestNetns& netns, std::vector<std::string> flags,
                  std::vector<std::string> wrapper = {});
  ~ExporterProcess();
  ExporterProcess(const ExporterProcess&) = delete;
  ExporterProcess& operator=(const ExporterProcess&) = delete;

  bool running() const { return port_ > 0; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string Scrape(const std::string& path = "/metrics") const;
  std::string Stderr() const;
  // Sends SIGTERM and waits up to `seconds`; returns the exit status or -1 on timeout.
  int Terminate(double seconds = 5);

 private:
  const TestNetns& netns_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string stderr_path_;
};

// The value of one series ("name" or "name{a=\"b\"}", exactly as exposed) in exposition text.
std::optional<double> MetricValue(std::string_view exposition, std::string_view series);

}  // namespace nfct::testing
