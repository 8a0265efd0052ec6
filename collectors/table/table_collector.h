// Collector "table": what fills the conntrack table — entries by family, protocol and TCP state,
// and the top destination ports — from a netlink dump run by a background worker as often as the
// interval and the CPU budget allow, and at once when the table crosses into trouble
// (dump_schedule.h). Collect() only copies the latest snapshot under a mutex (thread safe, never
// touches the kernel); Start()/Stop() own the worker, and Stop() returns promptly even mid-dump.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "collectors/collector.h"
#include "collectors/env.h"
#include "collectors/factory.h"
#include "collectors/kept_file.h"
#include "collectors/periodic_worker.h"
#include "collectors/table/dump_schedule.h"
#include "collectors/table/table_counts.h"
#include "collectors/table/table_dumper.h"

namespace nfct {

// Parsed --collector.table.* options; the defaults are those of TableCollectorOptions().
struct TableOptions {
  std::chrono::milliseconds interval{30000};  // the shortest time between scheduled dumps
  double cpu_budget = 0.05;  // share of one CPU dumps may use on average; <= 0: no budget
  size_t top_ports = 10;
};

// --collector.table.{interval,cpu-budget,top-ports}, declared once with their defaults, and the
// deprecated --collector.table.max-entries (accepted, ignored, logged).
const std::vector<CollectorOption>& TableCollectorOptions();

// The options as the collector keeps them, from the checked values.
TableOptions TableOptionsFrom(const CollectorOptions& values);

// Kernel plus user CPU time the calling thread has used, in seconds (getrusage RUSAGE_THREAD).
double ThreadCpuSeconds();

class TableCollector : public Collector {
 public:
  // `thread_cpu` measures each dump's cost on the thread that makes it; tests inject one.
  TableCollector(Env env, TableOptions options, std::unique_ptr<TableSource> source,
                 std::function<double()> thread_cpu = ThreadCpuSeconds);
  ~TableCollector() override;

  const std::vector<FamilyDesc>& Families() const override;
  std::vector<Capability> Capabilities() const override { return {Capability::kNetAdmin}; }
  Status Collect(MetricSink& sink) override;
  void Start() override;
  void Stop() override;

  // One dump attempt on the calling thread, now, as the worker makes it. For tests and the
  // benchmark: never while the worker runs (the counts belong to one thread at a time).
  void RunOnce() { Dump(DumpTrigger::kSchedule); }
  // What the worker does at each tick: reads the load and dumps if the schedule says so. Same
  // threading rule as RunOnce().
  void Tick();

 private:
  struct Snapshot {
    std::array<uint64_t, kTableFamilies * kTableProtocols * kTableStates> entries{};
    std::array<TopPorts, kPortProtocols> ports;
    uint64_t dump_entries = 0;
    double duration_seconds = 0;
    double timestamp_seconds = 0;
  };
  void Dump(DumpTrigger trigger);
  TableLoad ReadLoad();
  Snapshot TakeSnapshot(uint64_t entries);
  void Publish(Status status, std::optional<Snapshot> snapshot);

  const Env env_;
  const TableOptions options_;
  std::unique_ptr<TableSource> source_;
  const std::function<double()> thread_cpu_;
  // Worker thread only:
  TableCounts counts_;
  DumpSchedule schedule_;
  KeptFile count_file_, max_file_, stat_file_;
  std::string scratch_;

  std::atomic<bool> stop_{false};
  PeriodicWorker worker_;
  std::mutex mutex_;  // guards everything below
  Status status_ = Status::Ok();
  std::optional<Snapshot> snapshot_;  // the last complete dump
  bool fresh_ = false;                // the last attempt produced snapshot_
  double cpu_seconds_total_ = 0;
  std::array<uint64_t, kDumpTriggers> dumps_total_{};
  double interval_seconds_ = 0;
  uint64_t deferred_total_ = 0;
};

// The factory all.cc lists: options checked by the framework, the dump over netlink.
MadeCollector MakeTableCollector(const Env& env, const CollectorOptions& options);

}  // namespace nfct
