// Benchmark of the netns walk: starts N network namespaces, one `unshare --net sleep` process
// each (killed by PID at the end, and by the kernel if this program dies: PR_SET_PDEATHSIG),
// then times WalkNetns() and the collector's whole RunOnce() over the host's /proc. Prints
// wall and CPU time per walk and per namespace. Needs root. Not a timed test: run it alone.
//   build/tests/bench/netns_bench [--namespaces=1000] [--walks=10]
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/netns/netns_collector.h"
#include "collectors/netns/netns_walk.h"

namespace {

using Clock = std::chrono::steady_clock;

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

long MaxRssKib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

std::string NetLink(pid_t pid) {
  char buffer[64];
  std::string path = "/proc/" + std::to_string(pid) + "/ns/net";
  ssize_t n = readlink(path.c_str(), buffer, sizeof buffer);
  return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "";
}

pid_t StartHeldNetns() {
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // survives exec: no orphan if the benchmark dies
    execlp("unshare", "unshare", "--net", "sleep", "3600", static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

struct Times {
  std::vector<double> wall_ms, cpu_ms;
};

void Print(const char* what, Times times, size_t namespaces) {
  std::sort(times.wall_ms.begin(), times.wall_ms.end());
  std::sort(times.cpu_ms.begin(), times.cpu_ms.end());
  size_t mid = times.wall_ms.size() / 2;
  std::printf("%-22s wall ms min %.1f median %.1f max %.1f | cpu ms median %.1f | %.1f us/netns\n",
              what, times.wall_ms.front(), times.wall_ms[mid], times.wall_ms.back(),
              times.cpu_ms[mid], times.wall_ms[mid] * 1000 / static_cast<double>(namespaces));
}

long Flag(int argc, char** argv, std::string_view name, long fallback) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with(name) && arg.size() > name.size() && arg[name.size()] == '=') {
      return std::atol(arg.data() + name.size() + 1);
    }
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  if (geteuid() != 0) {
    std::fprintf(stderr, "netns_bench: needs root (creates network namespaces)\n");
    return 2;
  }
  const long count = Flag(argc, argv, "--namespaces", 1000);
  const long walks = Flag(argc, argv, "--walks", 10);
  nfct::Env env;

  auto baseline = nfct::WalkNetns(env);
  std::printf("before: %zu namespaces, %lu processes\n", baseline.namespaces.size(),
              static_cast<unsigned long>(baseline.processes));

  const std::string own = NetLink(getpid());
  auto begin = Clock::now();
  std::vector<pid_t> pids;
  for (long i = 0; i < count; ++i) {
    pid_t pid = StartHeldNetns();
    if (pid > 0) pids.push_back(pid);
  }
  // unshare execs sleep once the namespace exists.
  for (pid_t pid : pids) {
    for (int i = 0; i < 2000; ++i) {
      std::string link = NetLink(pid);
      if (!link.empty() && link != own) break;
      usleep(1000);
    }
  }
  double started_s = std::chrono::duration<double>(Clock::now() - begin).count();
  std::printf("started %zu namespaces in %.1f s\n", pids.size(), started_s);

  Times walk_times, collector_times;
  size_t seen = 0;
  uint64_t processes = 0;
  for (long i = 0; i < walks; ++i) {
    double cpu = CpuSeconds();
    auto t = Clock::now();
    auto walk = nfct::WalkNetns(env);
    walk_times.wall_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - t).count());
    walk_times.cpu_ms.push_back((CpuSeconds() - cpu) * 1000);
    seen = walk.namespaces.size();
    processes = walk.processes;
  }
  auto made = nfct::MakeNetnsCollector(
      env, nfct::CollectorOptions::Check("netns", nfct::NetnsCollectorOptions(), {}).options);
  auto* collector = static_cast<nfct::NetnsCollector*>(made.collector.get());
  for (long i = 0; i < walks; ++i) {
    double cpu = CpuSeconds();
    auto t = Clock::now();
    collector->RunOnce();
    collector_times.wall_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - t).count());
    collector_times.cpu_ms.push_back((CpuSeconds() - cpu) * 1000);
  }
  std::printf("walked: %zu namespaces, %lu processes, %ld walks each\n", seen,
              static_cast<unsigned long>(processes), walks);
  Print("WalkNetns", walk_times, seen);
  Print("collector RunOnce", collector_times, seen);
  std::printf("max RSS %ld KiB\n", MaxRssKib());

  for (pid_t pid : pids) kill(pid, SIGKILL);
  for (pid_t pid : pids) waitpid(pid, nullptr, 0);
  std::printf("stopped %zu processes\n", pids.size());
  return 0;
}
