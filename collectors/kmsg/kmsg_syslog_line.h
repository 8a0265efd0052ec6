// Parses the kernel lines of a syslog file (rsyslog's /var/log/kern.log) into a time and the
// message, which kmsg_match.h then matches. Pure; called by the syslog source (kmsg_syslog.h),
// fuzzed. Thread safe.
//   Jun  8 10:48:13 host kernel: [   12.345678] nf_conntrack: table full, dropping packet
// Knows RFC 3164 and RFC 3339 (RSYSLOG_FileFormat) prefixes, an optional "<PRI>", printk's
// "[seconds]" time and the "[T123]" caller id (5.1+).
#pragma once

#include <optional>
#include <string_view>

namespace nfct {

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

}  // namespace nfct
