// The source of table dumps: TableSource is the seam the collector's worker calls; the netlink
// implementation sends IPCTNL_MSG_CT_GET with NLM_F_DUMP (AF_UNSPEC: IPv4 and IPv6) and streams
// each recv() buffer through the decoder. Needs CAP_NET_ADMIN. Sees only the netns it was made
// for (collectors/netlink.h). One Dump() at a time per instance (the worker's): not thread safe.
#pragma once

#include <atomic>
#include <memory>

#include "collectors/collector.h"
#include "collectors/env.h"
#include "collectors/table/table_counts.h"

namespace nfct {

struct DumpOutcome {
  Status status = Status::Ok();  // Unavailable for EPERM (no CAP_NET_ADMIN), else Error
  uint64_t entries = 0;          // entries decoded into the counts
  bool cancelled = false;        // stop became true: the counts are partial, discard them
};

class TableSource {
 public:
  virtual ~TableSource() = default;
  // Resets counts and fills them from one dump. Returns soon after `stop` becomes true, even in
  // the middle of a dump: after the recv() in progress, i.e. once the kernel has filled one
  // buffer (normally well under a millisecond; longer when the shared hash holds millions of
  // other netns's entries and few of ours, since the kernel walks those between our entries).
  virtual DumpOutcome Dump(TableCounts& counts, const std::atomic<bool>& stop) = 0;
};

// Dumps the netns `env.netns` names (empty: the exporter's own), receiving through `env.syscalls`.
std::unique_ptr<TableSource> MakeNetlinkTableSource(const Env& env = Env{});

}  // namespace nfct
