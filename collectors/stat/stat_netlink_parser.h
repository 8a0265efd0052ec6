// Decodes the replies of ctnetlink's per-CPU stats dumps (IPCTNL_MSG_CT_GET_STATS_CPU and
// IPCTNL_MSG_EXP_GET_STATS_CPU; kernels 4.x to 6.18): one message per CPU with res_id = the CPU
// and be32 attributes, e.g. CTA_STATS_DROP (10), into the /proc column vocabulary ("drop",
// "clashres", "chainlength"). Pure: no I/O, no sockets. Used by stat_netlink.cc; fuzzed.
#pragma once

#include <libmnl/libmnl.h>

#include <cstdint>
#include <map>
#include <string_view>

#include "collectors/stat/stat_counters.h"
#include "collectors/stat/stat_parser.h"

namespace nfct {

// cpu → column → value, filled across both dumps.
using CpuStatValues = std::map<uint16_t, std::map<std::string_view, uint32_t>>;

// The largest NR_CPUS a kernel can be built with (x86-64 MAXSMP): a reply for a higher CPU is
// malformed.
inline constexpr uint16_t kMaxCpus = 8192;

struct CpuStatsDecoder {
  CpuStatValues* values;
  StatDump
      dump;  // which dump's replies these are: its attributes (collectors/stat/stat_counters.h)
};

// An mnl_cb_t for mnl_cb_run: adds one reply message's values; `data` is a CpuStatsDecoder*.
// A message too short for its nfgenmsg header, or for a CPU >= kMaxCpus, is MNL_CB_ERROR
// (errno EBADMSG).
int DecodeCpuStatsMessage(const nlmsghdr* nlh, void* data);

// The table the stat collector folds: every column seen (sorted), one row per CPU id from 0 to the
// highest seen; a CPU without a message stays all zero.
StatTable CpuStatsTable(const CpuStatValues& values);

}  // namespace nfct
