// Collector "sysctl": entries, limit, buckets and every timeout of the exporter's netns, from
// /proc/sys/net/netfilter. A handful of small file reads per scrape; stateless, thread safe.
#pragma once

#include "collectors/collector.h"
#include "collectors/env.h"
#include "collectors/factory.h"

namespace nfct {

class SysctlCollector : public Collector {
 public:
  explicit SysctlCollector(Env env) : env_(std::move(env)) {}

  const std::vector<FamilyDesc>& Families() const override;
  std::vector<std::string> Sources() const override;
  Status Collect(MetricSink& sink) override;

 private:
  Status CollectTimeouts(MetricSink& sink) const;
  Env env_;
};

// The room's factory; the collector takes no options.
MadeCollector MakeSysctlCollector(const Env& env, const OptionValues& options);

}  // namespace nfct
