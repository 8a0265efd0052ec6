// Collector "stat": the kernel's per-CPU conntrack event counters (drop, early_drop,
// insert_failed, ...) summed over CPUs as monotonic counters. Source: /proc/net/stat/nf_conntrack,
// or ctnetlink when the kernel has no procfs stats. One pread of the kept-open file (or one netlink
// round trip) per scrape; the wrap accumulator is guarded by a mutex, so Collect is thread safe.
#pragma once

#include <memory>
#include <mutex>

#include "collectors/collector.h"
#include "collectors/env.h"
#include "collectors/factory.h"
#include "collectors/kept_file.h"
#include "collectors/stat/stat_accumulator.h"
#include "collectors/stat/stat_netlink.h"

namespace nfct {

class StatCollector : public Collector {
 public:
  StatCollector(Env env, std::unique_ptr<CpuStatsSource> netlink);

  const std::vector<FamilyDesc>& Families() const override;
  // CAP_NET_ADMIN only for the netlink fallback: a kernel that has the procfs file at start was
  // built with CONFIG_NF_CONNTRACK_PROCFS and never needs netlink.
  std::vector<Capability> Capabilities() const override;
  Status Collect(MetricSink& sink) override;

 private:
  StatRead ReadTable();

  Env env_;
  std::unique_ptr<CpuStatsSource> netlink_;
  std::mutex mutex_;  // guards what follows
  KeptFile file_;     // /proc/net/stat/nf_conntrack, re-read with pread
  std::string text_;  // its last contents, kept for the buffer
  StatAccumulator accumulator_;
};

// The factory all.cc lists: no options; the netlink fallback opens its socket per read.
MadeCollector MakeStatCollector(const Env& env, const CollectorOptions& options);

}  // namespace nfct
