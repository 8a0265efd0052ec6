#include "collectors/stat/stat_counters.h"

#include <linux/netfilter/nfnetlink_conntrack.h>

#include <array>

namespace nfct {
namespace {

using prometheus::MetricType;

// COUNTER(column, metric name part, dump, attribute, help): the name part differs from the
// column only where the kernel renamed a column without changing what it counts.
#define COUNTER(column, name, dump, attribute, help)                    \
  StatCounter {                                                         \
    column, dump, attribute, FamilyDesc {                               \
      "nf_conntrack_stat_" name "_total", MetricType::Counter, help, {} \
    }                                                                   \
  }

constexpr auto kCt = StatDump::kConntrack;
constexpr auto kExp = StatDump::kExpectation;
constexpr auto kProcOnly = StatDump::kNone;

const std::array<StatCounter, 18> kCounters = {{
    COUNTER("found", "found", kCt, CTA_STATS_FOUND,
            "Lookups that found an existing conntrack entry, summed over CPUs."),
    COUNTER("invalid", "invalid", kCt, CTA_STATS_INVALID,
            "Packets that conntrack could not track (malformed or out of window), "
            "summed over CPUs."),
    COUNTER("insert", "insert", kCt, CTA_STATS_INSERT,
            "Entries inserted into the table through netlink, summed over CPUs; "
            "packet-created entries do not count here."),
    COUNTER("insert_failed", "insert_failed", kCt, CTA_STATS_INSERT_FAILED,
            "Entries that could not be inserted because an equal entry was "
            "already present (a clash), summed over CPUs."),
    COUNTER("drop", "drop", kCt, CTA_STATS_DROP,
            "Packets dropped because no conntrack entry could be made (table full "
            "among others), summed over CPUs; never rate limited."),
    COUNTER("early_drop", "early_drop", kCt, CTA_STATS_EARLY_DROP,
            "Entries evicted to make room for a new one because the table was "
            "at its limit, summed over CPUs."),
    COUNTER("icmp_error", "icmp_error", kCt, CTA_STATS_ERROR,
            "Packets that were ICMP errors related to a tracked flow and could "
            "not be matched, summed over CPUs."),
    COUNTER("search_restart", "search_restart", kCt, CTA_STATS_SEARCH_RESTART,
            "Hash table lookups restarted because of a concurrent resize or "
            "deletion, summed over CPUs."),
    COUNTER("clashres", "clash_resolve", kCt, CTA_STATS_CLASH_RESOLVE,
            "Insert clashes the kernel resolved by reusing the other entry "
            "(kernel 5.10 and later), summed over CPUs."),
    COUNTER("chainlength", "chaintoolong", kCt, CTA_STATS_CHAIN_TOOLONG,
            "Inserts refused because a hash chain was longer than the kernel "
            "allows: too few buckets (kernel 5.15 and later), summed over CPUs."),
    COUNTER("expect_new", "expect_new", kExp, CTA_STATS_EXP_NEW,
            "Expectations added (helpers such as FTP and SIP), summed over CPUs."),
    COUNTER("expect_create", "expect_create", kExp, CTA_STATS_EXP_CREATE,
            "Expectations created, summed over CPUs."),
    COUNTER("expect_delete", "expect_delete", kExp, CTA_STATS_EXP_DELETE,
            "Expectations deleted, summed over CPUs."),
    COUNTER("searched", "searched", kProcOnly, 0,
            "Hash table entries searched (kernels before 5.10), summed over CPUs."),
    COUNTER("new", "new", kProcOnly, 0,
            "Entries created (old kernels; 0 on current ones), summed over CPUs."),
    COUNTER("ignore", "ignore", kProcOnly, 0,
            "Packets that were already tracked or need no tracking, summed over CPUs."),
    COUNTER("delete", "delete", kProcOnly, 0,
            "Entries deleted (old kernels; 0 on current ones), summed over CPUs."),
    COUNTER("delete_list", "delete_list", kProcOnly, 0,
            "Entries removed from the unconfirmed list (kernels before 5.15), "
            "summed over CPUs."),
}};
#undef COUNTER

}  // namespace

std::span<const StatCounter> StatCounters() { return kCounters; }

const StatCounter* FindStatCounter(std::string_view column) {
  for (const auto& counter : kCounters) {
    if (counter.column == column) return &counter;
  }
  return nullptr;
}

}  // namespace nfct
