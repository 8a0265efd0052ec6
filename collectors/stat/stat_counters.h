// Every per-CPU conntrack counter the stat collector exports, declared once: its column in
// /proc/net/stat/nf_conntrack, the ctnetlink attribute that carries it, and its metric family.
// The parser, the netlink source, the accumulator and the collector all read this one table.
// Constant data: thread safe.
#pragma once

#include <span>
#include <string_view>

#include "collectors/collector.h"

namespace nfct {

// Which ctnetlink per-CPU stats dump carries a counter.
enum class StatDump {
  kNone,         // /proc only (columns of old kernels)
  kConntrack,    // IPCTNL_MSG_CT_GET_STATS_CPU
  kExpectation,  // IPCTNL_MSG_EXP_GET_STATS_CPU
};

struct StatCounter {
  std::string_view column;  // the /proc header name ("clashres", "chainlength" on new kernels)
  StatDump dump;
  int attribute;      // CTA_STATS_* or CTA_STATS_EXP_* in that dump; 0 with kNone
  FamilyDesc family;  // nf_conntrack_stat_<name>_total, a counter summed over CPUs
};

// In the order the collector declares them.
std::span<const StatCounter> StatCounters();

// The counter of a /proc column, or nullptr for one that is not a per-CPU event counter
// ("entries", the netns total repeated on every row) or is unknown.
const StatCounter* FindStatCounter(std::string_view column);

}  // namespace nfct
