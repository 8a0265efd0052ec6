// Recognises the conntrack lines in a kernel message, whatever source it came from (/dev/kmsg,
// journald MESSAGE, a syslog file's message part). Pure, allocation free on the common path;
// called by the kmsg sources and doctor, fuzzed and benchmarked. Thread safe.
//   nf_conntrack: nf_conntrack: table full in netns 4026532177, dropping packet
// Knows every table-full wording from 2.6 ("table full, dropping packet.") to 6.17+ ("in netns
// N"), "expectation table full", and the rate-limit summaries (net_ratelimit:, __ratelimit:,
// printk:).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "collectors/kmsg/kmsg_record.h"

namespace nfct {

enum class LogEvent { kNone, kTableFull, kExpectationTableFull, kSuppressed };

struct LogMatch {
  LogEvent event = LogEvent::kNone;
  std::optional<uint64_t> netns;  // the inode of "table full in netns N" (6.17+), else none
  uint64_t suppressed = 0;        // N of "net_ratelimit: N callbacks suppressed"
  bool operator==(const LogMatch&) const = default;
};

// `text` is a whole message (no syslog prefix). Anchored: the message must start with the
// conntrack prefix ("nf_conntrack: " once or twice, or "ip_conntrack: ") and end after the known
// wording (trailing whitespace allowed). A line that merely contains the words is kNone.
LogMatch MatchKernelMessage(std::string_view text);

// The metric label of an event: "table_full", "expectation_table_full", or "".
std::string_view LogEventLabel(LogEvent event);

// Parse and match one /dev/kmsg record, counting only facility 0 (kernel): userspace writes to
// /dev/kmsg always arrive with facility >= 1, so a spoofed line is never a match.
struct KmsgClassified {
  KmsgParse parse;
  LogMatch match;
};
KmsgClassified ClassifyKmsgRecord(std::string_view data);

// journald's "Missed N kernel messages" (MESSAGE_ID e9bf28e6e834481bb6f48f548ad13606) → N.
std::optional<uint64_t> ParseJournaldMissed(std::string_view message);

// The kernel version decides which table-full wording to expect.
struct KernelVersion {
  int major = 0;
  int minor = 0;
  auto operator<=>(const KernelVersion&) const = default;
};
// "6.18.44-fc-v782\n" (/proc/sys/kernel/osrelease) → {6, 18}.
std::optional<KernelVersion> ParseKernelRelease(std::string_view text);

}  // namespace nfct
