// Parses kernel-log records (/dev/kmsg, syslog files, journald MESSAGE) and recognises the
// conntrack lines in them. Pure: no I/O, no allocation on the common path; fuzzed and benchmarked.
//   4,339,585401705,-;nf_conntrack: nf_conntrack: table full in netns 4026532177, dropping packet
// Knows every table-full format from 2.6 ("table full, dropping packet.") to 6.17+ ("in netns N"),
// "expectation table full", and the rate-limit summaries (net_ratelimit:, __ratelimit:, printk:).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nfct {

// ---- /dev/kmsg records: "prio,seq,ts_usec[,flags[,...]];text\n[ KEY=value\n]*" ----

enum class KmsgError {
  kNone,
  kEmpty,
  kBadPrio,
  kBadSeq,
  kBadTimestamp,
  kNoSemicolon,  // the header never ends
  kTruncated,    // the text has no terminating newline
};

struct KmsgRecord {
  uint32_t prio = 0;  // facility << 3 | level
  uint64_t seq = 0;
  uint64_t ts_usec = 0;   // monotonic since boot
  std::string_view text;  // first line only, still \xNN-escaped
  uint32_t facility() const { return prio >> 3; }
};

struct KmsgParse {
  KmsgRecord record;
  KmsgError error = KmsgError::kNone;
  bool ok() const { return error == KmsgError::kNone; }
};

// One record as one read() of /dev/kmsg returns it. Unknown header fields before ';' are ignored;
// continuation lines (" KEY=value") are skipped. `record.text` points into `data`.
KmsgParse ParseKmsgRecord(std::string_view data);
std::string_view KmsgErrorName(KmsgError error);

// Decodes the kernel's \xNN escapes (non-printable bytes and '\' itself); other text is kept.
std::string UnescapeKmsgText(std::string_view text);

// ---- The matcher: what a kernel message says ----

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

// ---- Syslog files: "Jun  8 10:48:13 host kernel: [ 12.345678] nf_conntrack: ..." ----

// A calendar time as a syslog prefix states it. RFC 3164 has no year and no zone.
struct SyslogTime {
  int year = 0;  // 0: not stated (RFC 3164)
  int month = 1, day = 1, hour = 0, minute = 0, second = 0;
  double fraction = 0;
  std::optional<int> utc_offset_seconds;  // none: local time
  bool operator==(const SyslogTime&) const = default;
};

struct SyslogLine {
  SyslogTime time;
  std::string_view message;  // after "kernel:" and any "[ 12.345]" / "[T123]" tokens
};

// An optional "<PRI>" (facility must be 0), an RFC 3164 ("Jun  8 10:48:13") or RFC 3339
// ("2024-06-08T10:48:13.123+02:00") timestamp, a host name, and the tag "kernel:". Any other
// tag, prefix or facility gives nullopt.
std::optional<SyslogLine> ParseSyslogKernelLine(std::string_view line);

// Seconds since the epoch. RFC 3164 is local time in the year that puts it not more than a day
// in the future of `now_epoch`.
double SyslogTimeToEpoch(const SyslogTime& time, double now_epoch);

// ---- Small helpers ----

// journald's "Missed N kernel messages" (MESSAGE_ID e9bf28e6e834481bb6f48f548ad13606) → N.
std::optional<uint64_t> ParseJournaldMissed(std::string_view message);

struct KernelVersion {
  int major = 0;
  int minor = 0;
  auto operator<=>(const KernelVersion&) const = default;
};
// "6.18.44-fc-v782\n" (/proc/sys/kernel/osrelease) → {6, 18}.
std::optional<KernelVersion> ParseKernelRelease(std::string_view text);

}  // namespace nfct
