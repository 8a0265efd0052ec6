// Throughput of the kmsg collector's hot path, one core: the record parser + matcher over real
// 6.18 records and over typical non-matching boot records, the syslog-line path, and the whole
// /dev/kmsg reader (read seam → parse → match → tally). Reports records/s as items_per_second.
// Run: build/tests/collectors/kmsg/kmsg_parser_bench [--benchmark_min_time=1]
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "collectors/kmsg/kmsg_device.h"
#include "collectors/kmsg/kmsg_match.h"
#include "collectors/kmsg/kmsg_syslog_line.h"
#include "tests/collectors/kmsg/kmsg_records.h"

namespace nfct {
namespace {

std::vector<std::string> FixtureRecords() {
  std::ifstream in(std::string(NFCT_SOURCE_DIR) + "/tests/fixtures/kmsg/kmsg-6.18.txt");
  std::stringstream text;
  text << in.rdbuf();
  return testing::SplitKmsgRecords(text.str());
}

// What most of a kernel log is: records that are not conntrack's.
std::vector<std::string> OtherRecords() {
  return {
      "6,1000,5000000,-;e1000e: eth0 NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx\n",
      "4,1001,5100000,-;nfs: server 10.0.0.1 not responding, still trying\n",
      "6,1002,5200000,-;IPv6: ADDRCONF(NETDEV_CHANGE): veth1a2b3c: link becomes ready\n",
      "5,1003,5300000,-;audit: type=1400 audit(1700000000.123:42): apparmor=\"DENIED\"\n",
      "12,1004,5400000,-;systemd[1]: Started Session 4 of user admin.\n",
      "6,1005,5500000,-;br0: port 2(veth9) entered forwarding state\n SUBSYSTEM=net\n DEVICE=n7\n",
  };
}

void RunClassify(benchmark::State& state, const std::vector<std::string>& records) {
  size_t matched = 0;
  for (auto _ : state) {
    for (const auto& record : records) {
      KmsgClassified classified = ClassifyKmsgRecord(record);
      matched += classified.match.event != LogEvent::kNone;
      benchmark::DoNotOptimize(classified);
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * records.size()));
  state.counters["matched"] =
      static_cast<double>(matched) / static_cast<double>(state.iterations());
}

void BM_ClassifyReal618(benchmark::State& state) { RunClassify(state, FixtureRecords()); }
BENCHMARK(BM_ClassifyReal618);

void BM_ClassifyNonMatching(benchmark::State& state) { RunClassify(state, OtherRecords()); }
BENCHMARK(BM_ClassifyNonMatching);

void BM_SyslogLine(benchmark::State& state) {
  const std::vector<std::string> lines = {
      "Jun  8 10:48:13 gw1 kernel: [12345.678901] nf_conntrack: nf_conntrack: table full, "
      "dropping packet",
      "2025-06-08T10:48:13.123456+02:00 gw1 kernel: nf_conntrack: nf_conntrack: table full in "
      "netns 4026532177, dropping packet",
      "Jun  8 10:47:59 gw1 systemd[1]: Started Session 4 of user admin.",
  };
  for (auto _ : state) {
    for (const auto& line : lines) {
      auto parsed = ParseSyslogKernelLine(line);
      if (parsed) benchmark::DoNotOptimize(MatchKernelMessage(parsed->message));
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * lines.size()));
}
BENCHMARK(BM_SyslogLine);

// The /dev/kmsg reader without the syscall: a fake descriptor hands out the 6.18 records with
// increasing sequence numbers, so the tally and gap check run as they do for the device.
class LoopFile : public KmsgFile {
 public:
  explicit LoopFile(std::vector<std::string> texts) : texts_(std::move(texts)) {}
  KmsgRead Read(char* buffer, size_t size) override {
    if (budget_ == 0) return {-1, EAGAIN};
    --budget_;
    uint64_t seq = seq_++;
    std::string record =
        std::to_string(4) + "," + std::to_string(seq) + ",1000,-;" + texts_[seq % texts_.size()];
    size_t n = std::min(size, record.size());
    std::memcpy(buffer, record.data(), n);
    return {static_cast<ssize_t>(n), 0};
  }
  int fd() const override { return -1; }
  void Refill(int records) { budget_ = records; }

 private:
  std::vector<std::string> texts_;
  uint64_t seq_ = 0;
  int budget_ = 0;
};

void BM_DeviceSourcePump(benchmark::State& state) {
  std::vector<std::string> texts;
  for (const auto& record : FixtureRecords()) texts.push_back(record.substr(record.find(';') + 1));
  LoopFile* live = nullptr;
  KmsgDeviceSource source(
      "/dev/kmsg",
      [&](bool at_end) {
        auto file = std::make_unique<LoopFile>(texts);
        if (at_end) live = file.get();
        return KmsgOpen{std::move(file), 0};
      },
      [] { return 1.7e9; });
  KmsgTally tally(true);
  source.Open(tally);
  for (auto _ : state) {
    live->Refill(KmsgDeviceSource::kMaxRecordsPerPump);
    source.Pump(tally);
  }
  state.SetItemsProcessed(state.iterations() * KmsgDeviceSource::kMaxRecordsPerPump);
}
BENCHMARK(BM_DeviceSourcePump);

}  // namespace
}  // namespace nfct

BENCHMARK_MAIN();
