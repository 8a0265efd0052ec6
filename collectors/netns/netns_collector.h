// Collector "netns": every network namespace's own conntrack count and drop counters, labelled
// with its inode, `ip netns` name, pod UID and container ID, the N fullest kept and the rest
// summed as netns="other". A background worker walks (netns_walk.h) every interval; Collect()
// only copies the last snapshot under a mutex and reports its age (thread safe, never touches
// the kernel).
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "collectors/collector.h"
#include "collectors/env.h"
#include "collectors/factory.h"
#include "collectors/netns/netns_walk.h"
#include "collectors/periodic_worker.h"
#include "collectors/stat/stat_accumulator.h"

namespace nfct {

struct NetnsOptions {
  std::chrono::milliseconds interval{30000};
  size_t top = 50;  // namespaces with series of their own; the rest are netns="other"
};

// --collector.netns.{interval,top}, declared once with their defaults.
const std::vector<CollectorOption>& NetnsCollectorOptions();

// The options as the collector keeps them, from the checked values.
NetnsOptions NetnsOptionsFrom(const CollectorOptions& values);

// The factory all.cc lists.
MadeCollector MakeNetnsCollector(const Env& env, const CollectorOptions& values);

class NetnsCollector : public Collector {
 public:
  NetnsCollector(Env env, NetnsOptions options, std::unique_ptr<NetnsEnterer> enterer);
  ~NetnsCollector() override;

  const std::vector<FamilyDesc>& Families() const override;
  // The /proc listing under hidepid= and readlink() of another user's /proc/<pid>/ns/net
  // (ptrace read access), and setns() into the namespaces bind-mounted under /run/netns; the
  // rest of the walk needs none.
  std::vector<Capability> Capabilities() const override {
    return {Capability::kSysAdmin, Capability::kSysPtrace};
  }
  Status Collect(MetricSink& sink) override;
  void Start() override;
  void Stop() override;

  // One walk on the calling thread, as the worker makes it. For tests and the benchmark: never
  // while the worker runs (the accumulators belong to one thread at a time).
  void RunOnce();

 private:
  // The counters this collector exports, by kernel column; index into Series::counters.
  static constexpr size_t kCounters = 3;

  struct Series {
    std::string netns, name, pod_uid, container_id;
    double entries = 0;
    std::array<uint64_t, kCounters> counters{};
  };
  struct Snapshot {
    std::vector<Series> series;  // the top N, then "other"
    size_t namespaces = 0;
    size_t unread = 0;
    uint64_t unreadable_processes = 0;
    bool hidden = false;  // hidepid hides processes the exporter cannot see
    double duration_seconds = 0;
    double timestamp_seconds = 0;
    std::chrono::steady_clock::time_point finished;  // for the age a scrape reports
  };
  // Per namespace, across walks (worker thread only). A different reader means the inode may
  // now name a new namespace (the kernel reuses inode numbers), so its counters restart.
  struct Tracked {
    pid_t reader_pid = 0;
    uint64_t mount_id = 0;
    StatAccumulator accumulator;
    std::array<uint64_t, kCounters> last{};  // totals at the previous walk
  };

  Snapshot Summarise(const NetnsWalk& walk);
  static Status BlindSpots(const NetnsWalk& walk);
  void Publish(Status status, std::optional<Snapshot> snapshot);

  const Env env_;
  const NetnsOptions options_;
  std::unique_ptr<NetnsEnterer> enterer_;
  std::map<uint64_t, Tracked> tracked_;  // worker thread only
  std::array<uint64_t, kCounters> other_{};

  PeriodicWorker worker_;
  std::mutex mutex_;  // guards everything below
  Status status_ = Status::Ok();
  std::optional<Snapshot> snapshot_;
};

}  // namespace nfct
