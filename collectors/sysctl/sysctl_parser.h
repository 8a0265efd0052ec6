// Parses the conntrack sysctl files under /proc/sys/net/netfilter. Pure: no I/O.
// A value file holds one decimal number and a newline, e.g. "262144\n" (every kernel since 2.6).
// Timeout names look like nf_conntrack_tcp_timeout_time_wait or nf_conntrack_udp_timeout.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nfct {

// One unsigned decimal, optionally followed by whitespace. Anything else is rejected.
std::optional<uint64_t> ParseSysctlNumber(std::string_view text);

struct TimeoutName {
  std::string protocol;  // "tcp", "udp", "generic", "frag6", ...
  std::string state;     // the part after "timeout_", or "default" when there is none
  bool operator==(const TimeoutName&) const = default;
};

// nf_conntrack_<protocol>_timeout[_<state>] → {protocol, state}; nullopt for any other name.
std::optional<TimeoutName> ParseTimeoutName(std::string_view file_name);

}  // namespace nfct
