// THE list of collectors. To add one: a folder collectors/<name>/ exporting
// Make<Name>Collector(env, options), an entry here, its sources in collectors/CMakeLists.txt,
// fixtures and golden output under tests/.
#include "collectors/all.h"

#include "collectors/kmsg/kmsg_collector.h"
#include "collectors/netns/netns_collector.h"
#include "collectors/refused/refused_collector.h"
#include "collectors/stat/stat_collector.h"
#include "collectors/sysctl/sysctl_collector.h"
#include "collectors/table/table_collector.h"

namespace nfct {

const std::vector<CollectorEntry>& AllCollectors() {
  static const std::vector<CollectorEntry> kAll = {
      {"sysctl",
       true,
       "Entries, limit, buckets and timeouts from /proc/sys/net/netfilter (no privilege).",
       {},
       MakeSysctlCollector},
      {"stat",
       true,
       "Per-CPU event counters (drop, early_drop, insert_failed, ...) from "
       "/proc/net/stat/nf_conntrack, or netlink with CAP_NET_ADMIN.",
       {},
       MakeStatCollector},
      {"kmsg", true,
       "Conntrack lines of the kernel log (table full, expectation table full) from /dev/kmsg, "
       "journald or a syslog file; needs CAP_SYSLOG for /dev/kmsg when kernel.dmesg_restrict=1.",
       KmsgCollectorOptions(), MakeKmsgCollector},
      {"table", true,
       "What fills the table: entries by protocol and TCP state and the top destination ports, "
       "from a background netlink dump (CAP_NET_ADMIN; see docs/table.md for the cost).",
       TableCollectorOptions(), MakeTableCollector},
      {"netns", true,
       "Every network namespace's own entries and drop counters, labelled with its inode, ip "
       "netns name, pod UID and container ID, from a background walk of /proc (see "
       "docs/netns.md for the privileges and the cost).",
       NetnsCollectorOptions(), MakeNetnsCollector},
      {"refused", false,
       "Which flows a full table refused, by namespace, protocol and destination port, counted "
       "by a BPF program on tp_btf/kfree_skb (CAP_BPF + CAP_PERFMON to load, kernel BTF; see "
       "docs/refused.md).",
       RefusedCollectorOptions(), MakeRefusedCollector},
  };
  return kAll;
}

MadeCollector MakeCollector(const CollectorEntry& entry, const Env& env,
                            const OptionValues& given) {
  auto checked = CollectorOptions::Check(entry.name, entry.options, given);
  if (!checked.error.empty()) return {nullptr, checked.error};
  return entry.make(env, checked.options);
}

}  // namespace nfct
