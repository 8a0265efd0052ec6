// Reads the per-CPU conntrack counters over ctnetlink (IPCTNL_MSG_CT_GET_STATS_CPU and
// IPCTNL_MSG_EXP_GET_STATS_CPU), for kernels built without CONFIG_NF_CONNTRACK_PROCFS.
// Needs CAP_NET_ADMIN. Sees only the netns it was made for (collectors/netlink.h). One socket
// per call: thread safe by having no shared state.
#pragma once

#include <memory>

#include "collectors/collector.h"
#include "collectors/env.h"
#include "collectors/stat/stat_parser.h"

namespace nfct {

struct StatRead {
  StatTable table;  // columns use the /proc header vocabulary ("clashres", "chainlength")
  Status status = Status::Ok();
};

class CpuStatsSource {
 public:
  virtual ~CpuStatsSource() = default;
  virtual StatRead Read() = 0;
};

// Reads the netns `env.netns` names (empty: the exporter's own), receiving through `env.syscalls`.
std::unique_ptr<CpuStatsSource> MakeNetlinkCpuStatsSource(const Env& env = Env{});

}  // namespace nfct
