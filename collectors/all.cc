// THE list of collectors. To add one: a folder collectors/<name>/, an entry here, a line in
// collectors/CMakeLists.txt, fixtures and golden output under tests/.
#include "collectors/all.h"

#include "collectors/kmsg/kmsg_collector.h"
#include "collectors/netns/netns_collector.h"
#include "collectors/stat/stat_collector.h"
#include "collectors/stat/stat_netlink.h"
#include "collectors/sysctl/sysctl_collector.h"
#include "collectors/table/table_collector.h"
#include "collectors/table/table_dumper.h"

namespace nfct {

const std::vector<CollectorEntry>& AllCollectors() {
  static const std::vector<CollectorEntry> kAll = {
      {"sysctl",
       true,
       "Entries, limit, buckets and timeouts from /proc/sys/net/netfilter (no privilege).",
       {},
       [](const Env& env, const OptionValues&) {
         return MadeCollector{std::make_unique<SysctlCollector>(env), ""};
       }},
      {"stat",
       true,
       "Per-CPU event counters (drop, early_drop, insert_failed, ...) from "
       "/proc/net/stat/nf_conntrack, or netlink with CAP_NET_ADMIN.",
       {},
       [](const Env& env, const OptionValues&) {
         return MadeCollector{std::make_unique<StatCollector>(env, MakeNetlinkCpuStatsSource()),
                              ""};
       }},
      {"kmsg",
       true,
       "Conntrack lines of the kernel log (table full, expectation table full) from /dev/kmsg, "
       "journald or a syslog file; needs CAP_SYSLOG for /dev/kmsg when kernel.dmesg_restrict=1.",
       {{"source", "/dev/kmsg",
         "Kernel log to read: /dev/kmsg, journald, journald:<directory>, or the path of a "
         "syslog file such as /var/log/kern.log."}},
       MakeKmsgCollector},
      {"table",
       true,
       "What fills the table: entries by protocol and TCP state and the top destination ports, "
       "from a background netlink dump (CAP_NET_ADMIN; see docs/table.md for the cost).",
       {{"interval", "30s", "How often the background worker dumps the table."},
        {"max-entries", "500000",
         "Skip the dump while nf_conntrack_count is above this (0 = no limit)."},
        {"top-ports", "10", "How many destination ports per protocol get their own series."}},
       [](const Env& env, const OptionValues& values) {
         auto parsed = ParseTableOptions(values);
         if (!parsed.error.empty()) return MadeCollector{nullptr, parsed.error};
         return MadeCollector{
             std::make_unique<TableCollector>(env, parsed.options, MakeNetlinkTableSource()), ""};
       }},
      {"netns",
       true,
       "Every network namespace's own entries and drop counters, labelled with its inode, ip "
       "netns name, pod UID and container ID, from a background walk of /proc (see "
       "docs/netns.md for the privileges and the cost).",
       {{"interval", "30s", "How often the background worker walks every network namespace."},
        {"top", "50",
         "How many of the fullest namespaces get series of their own; the rest are summed as "
         "netns=\"other\"."}},
       MakeNetnsCollector},
  };
  return kAll;
}

}  // namespace nfct
