// Collector "refused" (off by default): which flows a full conntrack table refused, counted by
// a BPF program on tp_btf/kfree_skb (refused_loader.h), by netns, protocol and original
// destination port, joined with the netns walk's netns_name/pod_uid/container_id. Start() loads
// the program (CAP_BPF + CAP_PERFMON only then); a worker reads its maps every interval and
// Collect() copies the last snapshot under a mutex (thread safe, never touches the kernel).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "collectors/collector.h"
#include "collectors/env.h"
#include "collectors/factory.h"
#include "collectors/netns/netns_walk.h"
#include "collectors/periodic_worker.h"
#include "collectors/refused/refused_decoder.h"
#include "collectors/refused/refused_loader.h"

namespace nfct {

struct RefusedOptions {
  std::chrono::milliseconds interval{15000};
  size_t top = 50;           // keys with series of their own; the rest are port="other"
  uint32_t map_size = 4096;  // capacity of the BPF map of keys; beyond it, per-netns overflow
};

// --collector.refused.{interval,top,map-size}, declared once with their defaults.
const std::vector<CollectorOption>& RefusedCollectorOptions();

// The options as the collector keeps them, from the checked values.
RefusedOptions RefusedOptionsFrom(const CollectorOptions& values);

// nf_conntrack_refused_packets_total, for readers of the collector's output (doctor).
extern const FamilyDesc kRefusedPackets;

// The factory all.cc lists.
MadeCollector MakeRefusedCollector(const Env& env, const CollectorOptions& values);

// Loads the program with these history seeds: RefusedProgram::Load, or a fixture in tests.
using RefusedLoad =
    std::function<RefusedLoaded(const std::vector<std::pair<uint32_t, std::string>>& seeds)>;

class RefusedCollector : public Collector {
 public:
  // `enterer` reads bind-mounted namespaces' counters for the seeds (as the netns collector's).
  RefusedCollector(Env env, RefusedOptions options, RefusedLoad load,
                   std::unique_ptr<NetnsEnterer> enterer);
  ~RefusedCollector() override;

  const std::vector<FamilyDesc>& Families() const override;
  // The load (CAP_BPF + CAP_PERFMON); the netns walk that labels namespaces (other users'
  // /proc/<pid>/ns/net) and seeds the program (entering bind-mounted namespaces).
  std::vector<Capability> Capabilities() const override {
    return {Capability::kBpf, Capability::kPerfmon, Capability::kSysPtrace, Capability::kSysAdmin};
  }
  Status Collect(MetricSink& sink) override;
  void Start() override;
  void Stop() override;

  // Loads and attaches the program; the status Collect() reports until it works. Start() calls
  // it; tests call it and RunOnce() directly, never while the worker runs.
  Status Load();
  // One read of the maps (and a netns walk for the labels) on the calling thread.
  void RunOnce();

 private:
  struct Labels {
    std::string name, pod_uid, container_id;
  };
  struct Snapshot {
    std::vector<RefusedSeries> series;
    RefusedStats stats;
    uint32_t map_entries = 0;
    std::map<uint32_t, Labels> labels;
    std::chrono::steady_clock::time_point finished;
  };

  // The namespaces' labels, and their counters as history seeds for the program.
  std::vector<std::pair<uint32_t, std::string>> Walk(size_t cpus);

  const Env env_;
  const RefusedOptions options_;
  const RefusedLoad load_;
  std::unique_ptr<NetnsEnterer> enterer_;
  std::unique_ptr<RefusedSource> program_;  // set once by Load(), before the worker starts
  std::map<uint32_t, Labels> labels_;       // worker thread only
  std::chrono::steady_clock::time_point last_walk_{};

  PeriodicWorker worker_;
  std::mutex mutex_;  // guards everything below
  Status status_ = Status::Unavailable("the BPF program is not loaded yet");
  std::optional<Snapshot> snapshot_;
};

}  // namespace nfct
