// table_bench: measures, in the netns it runs in, the table collector's dump rate against a raw
// count-only ctnetlink dump, alternating the two, and the RSS growth during the collector's dump.
// Run by tests/bench/table_bench.sh (which makes the entries and times `conntrack -L`); prints
// numbers, asserts nothing. Usage: table_bench --reps=N
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "collectors/collector.h"
#include "collectors/table/table_collector.h"
#include "collectors/table/table_dumper.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Run {
  double seconds = 0;
  double cpu_user = 0;
  double cpu_sys = 0;
  uint64_t entries = 0;
};

double CpuSeconds(const timeval& t) {
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

template <typename F>
Run Timed(F&& dump) {
  rusage before{}, after{};
  getrusage(RUSAGE_THREAD, &before);
  auto begin = Clock::now();
  uint64_t entries = dump();
  Run run;
  run.seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  getrusage(RUSAGE_THREAD, &after);
  run.cpu_user = CpuSeconds(after.ru_utime) - CpuSeconds(before.ru_utime);
  run.cpu_sys = CpuSeconds(after.ru_stime) - CpuSeconds(before.ru_stime);
  run.entries = entries;
  return run;
}

// (a) The floor: the same request and buffer, counting conntrack messages without decoding them.
uint64_t RawCountDump() {
  mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (nl == nullptr || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    std::perror("netlink");
    std::exit(1);
  }
  static std::vector<char> buffer(64 * 1024);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer.data());
  nlh->nlmsg_type = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = AF_UNSPEC;
  nfg->version = NFNETLINK_V0;
  mnl_socket_sendto(nl, nlh, nlh->nlmsg_len);
  uint64_t count = 0;
  for (bool done = false; !done;) {
    ssize_t n = mnl_socket_recvfrom(nl, buffer.data(), buffer.size());
    if (n <= 0) break;
    int left = static_cast<int>(n);
    for (auto* msg = reinterpret_cast<nlmsghdr*>(buffer.data()); mnl_nlmsg_ok(msg, left);
         msg = mnl_nlmsg_next(msg, &left)) {
      if (msg->nlmsg_type == NLMSG_DONE || msg->nlmsg_type == NLMSG_ERROR)
        done = true;
      else if ((msg->nlmsg_type >> 8) == NFNL_SUBSYS_CTNETLINK)
        ++count;
    }
  }
  mnl_socket_close(nl);
  return count;
}

// (collector) The whole worker step: sysctl check, dump, decode, top-K, publish.
uint64_t CollectorDump(nfct::TableCollector& collector) {
  collector.RunOnce();
  nfct::FamilySink sink;
  collector.Collect(sink);
  for (const auto& family : sink.Take()) {
    if (family.name == "nf_conntrack_table_dump_entries") {
      return static_cast<uint64_t>(family.metric[0].gauge.value);
    }
  }
  return 0;
}

long StatusKib(const char* field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::strlen(field)));
  }
  return -1;
}

// Entries per second of the dumping thread's own CPU time (user + system): on a shared machine
// this is steadier than wall time, which also counts waiting for a CPU.
double CpuRate(const Run& r) {
  double cpu = r.cpu_user + r.cpu_sys;
  return cpu > 0 ? static_cast<double>(r.entries) / cpu : 0;
}

double Rate(const Run& r) { return r.seconds > 0 ? static_cast<double>(r.entries) / r.seconds : 0; }

void Print(const char* method, const Run& r) {
  std::printf(
      "method=%s entries=%llu seconds=%.4f rate_per_s=%.0f cpu_user_s=%.4f cpu_sys_s=%.4f\n",
      method, static_cast<unsigned long long>(r.entries), r.seconds, Rate(r), r.cpu_user,
      r.cpu_sys);
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 3;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--reps=", 7) == 0) reps = std::atoi(argv[i] + 7);
  }
  // Built (1 MiB of port counters, 64 KiB receive buffer) before anything is measured.
  nfct::TableCollector collector(nfct::Env{}, nfct::TableOptions{std::chrono::hours(1), 0, 10},
                                 nfct::MakeNetlinkTableSource());
  long rss_start = StatusKib("VmRSS:");
  // The first collector dump is the one whose RSS growth counts: later ones reuse its pages.
  std::ofstream("/proc/self/clear_refs") << "5";  // resets VmHWM to the current RSS
  long rss_before = StatusKib("VmRSS:");
  Run first = Timed([&] { return CollectorDump(collector); });
  long peak = StatusKib("VmHWM:");
  std::printf(
      "rss_kib_before_first_dump=%ld peak_kib_during_first_dump=%ld growth_kib=%ld "
      "(rss at start %ld)\n",
      rss_before, peak, peak - rss_before, rss_start);
  Print("collector_first", first);
  std::vector<Run> raw, ours;
  for (int i = 0; i < reps; ++i) {
    raw.push_back(Timed(RawCountDump));
    Print("raw_count", raw.back());
    ours.push_back(Timed([&] { return CollectorDump(collector); }));
    Print("collector", ours.back());
  }
  auto median = [](std::vector<Run> runs, auto key) {
    std::sort(runs.begin(), runs.end(), [&](auto& a, auto& b) { return key(a) < key(b); });
    return key(runs[runs.size() / 2]);
  };
  double raw_rate = median(raw, Rate), ours_rate = median(ours, Rate);
  double raw_cpu = median(raw, CpuRate), ours_cpu = median(ours, CpuRate);
  std::printf(
      "summary entries=%llu median_rate raw_count=%.0f collector=%.0f ratio=%.3f | "
      "median_cpu_rate raw_count=%.0f collector=%.0f ratio=%.3f | rss_growth_kib=%ld\n",
      static_cast<unsigned long long>(ours.back().entries), raw_rate, ours_rate,
      raw_rate > 0 ? ours_rate / raw_rate : 0, raw_cpu, ours_cpu,
      raw_cpu > 0 ? ours_cpu / raw_cpu : 0, peak - rss_before);
  return 0;
}
