#include "tests/support/netns_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <variant>

#include "collectors/env.h"
#include "collectors/stat/stat_parser.h"

extern char** environ;

namespace nfct::testing {
namespace {

// The ruleset lives in a file the Python live-chain test shares.
constexpr const char* kRulesetPath = NFCT_SOURCE_DIR "/tests/support/test_netns.nft";

bool Executable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

std::string FindProgram(const std::string& name) {
  for (const char* dir : {"/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
    std::string path = std::string(dir) + "/" + name;
    if (Executable(path)) return path;
  }
  return "";
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void MustRun(const std::vector<std::string>& argv) {
  CommandResult result = RunCommand(argv);
  if (result.exit_code != 0) {
    std::string line;
    for (const auto& arg : argv) line += arg + " ";
    throw std::runtime_error("command failed (" + std::to_string(result.exit_code) + "): " + line);
  }
}

}  // namespace

std::string KernelSkipReason() {
  if (geteuid() != 0) return "needs root (creates network namespaces); CI runs it as root";
  if (access("/proc/sys/net/netfilter/nf_conntrack_max", R_OK) != 0)
    return "nf_conntrack is not loaded on this host";
  if (FindProgram("ip").empty()) return "needs ip (Debian package iproute2)";
  if (FindProgram("nft").empty()) return "needs nft (Debian package nftables)";
  return "";
}

CommandResult RunCommand(const std::vector<std::string>& argv) {
  CommandResult result;
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return result;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (rc != 0) {
    close(pipe_fds[0]);
    return result;
  }
  char buffer[4096];
  ssize_t n;
  while ((n = read(pipe_fds[0], buffer, sizeof buffer)) > 0) result.out.append(buffer, n);
  close(pipe_fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

long ReadNumberFile(const std::string& path) {
  std::string text = ReadAll(path);
  if (text.empty()) return -1;
  return std::stol(text);
}

TestNetns::TestNetns(std::string_view tag) {
  static std::atomic<int> counter{0};
  name_ =
      "nfct-" + std::string(tag) + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
  MustRun({"ip", "netns", "add", name_});
  struct stat st {};
  if (stat(("/run/netns/" + name_).c_str(), &st) == 0) inode_ = st.st_ino;
  try {
    MustRun({"ip", "-n", name_, "link", "set", "lo", "up"});
    // A veth whose peer stays down is a packet sink (this kernel has no dummy driver): the
    // entry is made and confirmed, then the packet vanishes. Static neighbours skip ARP/ND.
    MustRun({"ip", "-n", name_, "link", "add", "sink0", "type", "veth", "peer", "name", "sink1"});
    MustRun({"ip", "-n", name_, "addr", "add", "198.18.0.1/15", "dev", "sink0"});
    MustRun({"ip", "-n", name_, "addr", "add", "2001:db8::1/32", "dev", "sink0", "nodad"});
    MustRun({"ip", "-n", name_, "link", "set", "sink0", "up"});
    MustRun({"ip", "-n", name_, "neigh", "add", "198.19.0.1", "lladdr", "02:00:00:00:00:01", "dev",
             "sink0", "nud", "permanent"});
    MustRun({"ip", "-n", name_, "-6", "neigh", "add", "2001:db8:2::1", "lladdr",
             "02:00:00:00:00:01", "dev", "sink0", "nud", "permanent"});
    CommandResult nft = Run({"nft", "-f", kRulesetPath});
    if (nft.exit_code != 0) throw std::runtime_error("nft -f failed in " + name_);
  } catch (...) {
    RunCommand({"ip", "netns", "del", name_});
    throw;
  }
}

TestNetns::~TestNetns() { RunCommand({"ip", "netns", "del", name_}); }

CommandResult TestNetns::Run(const std::vector<std::string>& argv) const {
  std::vector<std::string> full = {"ip", "netns", "exec", name_};
  full.insert(full.end(), argv.begin(), argv.end());
  return RunCommand(full);
}

void TestNetns::EnterOnThisThread() const {
  int fd = open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
    if (fd >= 0) close(fd);
    throw std::runtime_error("setns into " + name_ + ": " + std::strerror(errno));
  }
  close(fd);
}

long TestNetns::Count() const {
  // /proc/sys/net follows the opening thread's netns.
  return Within([] { return ReadNumberFile("/proc/sys/net/netfilter/nf_conntrack_count"); });
}

CommandResult TestNetns::CreateEntries(const std::vector<std::string>& flags) const {
  std::vector<std::string> argv = {NFCT_CT_CREATE_PATH};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return Run(argv);
}

long TestNetns::FillToMax() const {
  long max = ReadNumberFile("/proc/sys/net/netfilter/nf_conntrack_max");
  long missing = max - Count();
  if (max <= 0 || missing <= 0) return 0;
  // A source range of its own (offset 5,000,000) so it never collides with a test's entries.
  CommandResult result =
      CreateEntries({"--count=" + std::to_string(missing), "--proto=udp", "--status=assured",
                     "--src-offset=5000000", "--dport=9", "--timeout=3600"});
  long created = 0;
  if (auto pos = result.out.find("created="); pos != std::string::npos) {
    created = std::stol(result.out.substr(pos + 8));
  }
  return created;
}

uint64_t StatColumnSum(const std::string& stat_text, const std::string& column) {
  auto parsed = ParseStatTable(stat_text);
  if (!std::holds_alternative<StatTable>(parsed)) return 0;
  const auto& table = std::get<StatTable>(parsed);
  uint64_t sum = 0;
  for (size_t c = 0; c < table.columns.size(); ++c) {
    if (table.columns[c] != column) continue;
    for (const auto& row : table.rows) sum += row[c];
  }
  return sum;
}

uint64_t KernelStatSum(const TestNetns& ns, const std::string& column) {
  return ns.Within([&] {
    return StatColumnSum(ReadFile("/proc/thread-self/net/stat/nf_conntrack").data, column);
  });
}

namespace {

// One datagram to each of `ports`, in order, from one socket inside the calling thread's netns.
SendResult SendUdp(const std::vector<uint16_t>& ports) {
  SendResult result;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in to{};
  to.sin_family = AF_INET;
  inet_pton(AF_INET, "198.19.0.1", &to.sin_addr);
  char byte = 'x';
  for (uint16_t port : ports) {
    to.sin_port = htons(port);
    if (sendto(fd, &byte, 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) == 1) {
      ++result.sent;
    } else if (errno == EPERM) {
      ++result.eperm;
    } else {
      ++result.other_errors;
    }
  }
  close(fd);
  return result;
}

}  // namespace

SendResult TestNetns::SendUdpFlows(int count, int first_port) const {
  std::vector<uint16_t> ports;
  for (int i = 0; i < count; ++i) ports.push_back(static_cast<uint16_t>(first_port + i));
  return Within([&] { return SendUdp(ports); });
}

SendResult TestNetns::SendUdpTo(int port, int packets) const {
  std::vector<uint16_t> ports(static_cast<size_t>(packets), static_cast<uint16_t>(port));
  return Within([&] { return SendUdp(ports); });
}

ExporterProcess::ExporterProcess(const TestNetns& netns, std::vector<std::string> flags,
                                 std::vector<std::string> wrapper)
    : netns_(netns) {
  static std::atomic<int> counter{0};
  stderr_path_ = "/tmp/" + netns.name() + "-exporter-" + std::to_string(counter++) + ".log";
  std::vector<std::string> argv = {"ip", "netns", "exec", netns.name()};
  argv.insert(argv.end(), wrapper.begin(), wrapper.end());
  argv.push_back(NFCT_EXPORTER_PATH);
  argv.push_back("--web.listen-address=127.0.0.1:0");
  argv.insert(argv.end(), flags.begin(), flags.end());
  std::vector<char*> args;
  for (auto& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  // `ip netns exec` (and setpriv) exec the program itself, so this pid is the exporter's.
  if (posix_spawnp(&pid_, "ip", &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
  posix_spawn_file_actions_destroy(&actions);
  if (pid_ < 0) return;
  for (int i = 0; i < 100 && port_ == 0; ++i) {
    std::string log = ReadAll(stderr_path_);
    if (auto pos = log.find(" port="); pos != std::string::npos) {
      port_ = std::stoi(log.substr(pos + 6));
      break;
    }
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    usleep(50 * 1000);
  }
}

ExporterProcess::~ExporterProcess() {
  Terminate();
  unlink(stderr_path_.c_str());
}

int ExporterProcess::Terminate(double seconds) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      port_ = 0;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    usleep(20 * 1000);
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  port_ = 0;
  return -1;
}

std::string ExporterProcess::Scrape(const std::string& path) const {
  int port = port_;
  return netns_.Within([port, &path] {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(10, 0);
    auto response = client.Get(path);
    if (!response || response->status != 200) return std::string();
    return response->body;
  });
}

std::string ExporterProcess::Stderr() const { return ReadAll(stderr_path_); }

std::optional<double> MetricValue(std::string_view exposition, std::string_view series) {
  size_t pos = 0;
  while (pos < exposition.size()) {
    size_t end = exposition.find('\n', pos);
    if (end == std::string_view::npos) end = exposition.size();
    std::string_view line = exposition.substr(pos, end - pos);
    if (line.size() > series.size() && line.starts_with(series) && line[series.size()] == ' ') {
      return std::stod(std::string(line.substr(series.size() + 1)));
    }
    pos = end + 1;
  }
  return std::nullopt;
}

}  // namespace nfct::testing
