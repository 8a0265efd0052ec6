// THE list of collectors. To add one: a folder collectors/<name>/, an entry here, a line in
// collectors/CMakeLists.txt, fixtures and golden output under tests/.
#include "collectors/all.h"

#include "collectors/stat/stat_collector.h"
#include "collectors/stat/stat_netlink.h"
#include "collectors/sysctl/sysctl_collector.h"

namespace nfct {

const std::vector<CollectorEntry>& AllCollectors() {
  static const std::vector<CollectorEntry> kAll = {
      {"sysctl", true,
       "Entries, limit, buckets and timeouts from /proc/sys/net/netfilter (no privilege).",
       {},
       [](const Env& env, const OptionValues&) {
         return MadeCollector{std::make_unique<SysctlCollector>(env), ""};
       }},
      {"stat", true,
       "Per-CPU event counters (drop, early_drop, insert_failed, ...) from "
       "/proc/net/stat/nf_conntrack, or netlink with CAP_NET_ADMIN.",
       {},
       [](const Env& env, const OptionValues&) {
         return MadeCollector{
             std::make_unique<StatCollector>(env, MakeNetlinkCpuStatsSource()), ""};
       }},
  };
  return kAll;
}

}  // namespace nfct
