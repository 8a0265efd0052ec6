// Collector "sysctl": entries, limit, buckets and every timeout of the exporter's netns, from
// /proc/sys/net/netfilter. The files stay open and every scrape re-reads each of them with pread
// (the timeouts are found by one directory walk). A failed read closes the files; the next scrape
// opens and walks again.
// Thread safe: a mutex serialises its scrapes.
#pragma once

#include <memory>
#include <mutex>

#include "collectors/collector.h"
#include "collectors/env.h"
#include "collectors/factory.h"

namespace nfct {

class SysctlCollector : public Collector {
 public:
  explicit SysctlCollector(Env env);
  ~SysctlCollector() override;

  const std::vector<FamilyDesc> &Families() const override;
  Status Collect(MetricSink &sink) override;

 private:
  struct Files;  // the open descriptors, in sysctl_collector.cc
  Status CollectTimeouts(MetricSink &sink);
  Env env_;
  std::mutex mutex_;
  std::unique_ptr<Files> files_;
};

// The families it serves, for readers of its output (doctor) to name them by.
extern const FamilyDesc kSysctlEntries;  // nf_conntrack_count
extern const FamilyDesc kSysctlLimit;    // nf_conntrack_max
extern const FamilyDesc kSysctlBuckets;  // nf_conntrack_buckets
extern const FamilyDesc kSysctlTimeout;  // every timeout, labelled protocol and state

// The factory all.cc lists; the collector takes no options.
MadeCollector MakeSysctlCollector(const Env &env, const CollectorOptions &options);

}  // namespace nfct
