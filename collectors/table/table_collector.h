// Collector "table": what fills the conntrack table — entries by family, protocol and TCP state,
// and the top destination ports — from a netlink dump run by a background worker every
// interval. Collect() only copies the latest snapshot under a mutex (thread safe, never touches
// the kernel); Start()/Stop() own the worker, and Stop() returns promptly even mid-dump.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>

#include "collectors/collector.h"
#include "collectors/env.h"
#include "collectors/factory.h"
#include "collectors/periodic_worker.h"
#include "collectors/table/table_counts.h"
#include "collectors/table/table_dumper.h"

namespace nfct {

// Parsed --collector.table.* options; the defaults are those of TableCollectorOptions().
struct TableOptions {
  std::chrono::milliseconds interval{30000};
  uint64_t max_entries = 500000;  // skip the dump when nf_conntrack_count is above; 0 = no limit
  size_t top_ports = 10;
};

// --collector.table.{interval,max-entries,top-ports}, declared once with their defaults.
const std::vector<CollectorOption>& TableCollectorOptions();

// The options as the collector keeps them, from the checked values.
TableOptions TableOptionsFrom(const CollectorOptions& values);

class TableCollector : public Collector {
 public:
  TableCollector(Env env, TableOptions options, std::unique_ptr<TableSource> source);
  ~TableCollector() override;

  const std::vector<FamilyDesc>& Families() const override;
  std::vector<Capability> Capabilities() const override { return {Capability::kNetAdmin}; }
  Status Collect(MetricSink& sink) override;
  void Start() override;
  void Stop() override;

  // One dump attempt on the calling thread, as the worker makes it. For tests and the benchmark:
  // never while the worker runs (the counts belong to one thread at a time).
  void RunOnce();

 private:
  struct Snapshot {
    std::array<uint64_t, kTableFamilies * kTableProtocols * kTableStates> entries{};
    std::array<TopPorts, kPortProtocols> ports;
    uint64_t dump_entries = 0;
    double duration_seconds = 0;
    double timestamp_seconds = 0;
  };
  struct Precheck {
    Status status;  // non-Ok: no dump, report this
    bool skip;      // above max-entries: no dump, count it
  };
  Precheck CheckBeforeDump() const;
  void Publish(Status status, std::optional<Snapshot> snapshot, bool skipped);

  const Env env_;
  const TableOptions options_;
  std::unique_ptr<TableSource> source_;
  TableCounts counts_;  // worker thread only

  std::atomic<bool> stop_{false};
  PeriodicWorker worker_;
  std::mutex mutex_;  // guards everything below
  Status status_ = Status::Ok();
  std::optional<Snapshot> snapshot_;  // the last complete dump
  bool fresh_ = false;                // the last attempt produced snapshot_
  bool skipping_ = false;
  uint64_t skipped_total_ = 0;
};

// The room's factory: options parsed and validated here, the dump over netlink.
MadeCollector MakeTableCollector(const Env& env, const CollectorOptions& options);

}  // namespace nfct
