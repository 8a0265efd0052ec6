// Parses the conntrack sysctl files under /proc/sys/net/netfilter. Pure: no I/O.
// A value file holds one decimal number and a newline, e.g. "262144\n": ParseSysctlNumber, in
// collectors/text.h since other collectors read sysctls too. Timeout names look like
// nf_conntrack_tcp_timeout_time_wait or nf_conntrack_udp_timeout.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "collectors/text.h"

namespace nfct {

struct TimeoutName {
  std::string protocol;  // "tcp", "udp", "generic", "frag6", ...
  std::string state;     // the part after "timeout_", or "default" when there is none
  bool operator==(const TimeoutName&) const = default;
};

// nf_conntrack_<protocol>_timeout[_<state>] → {protocol, state}; nullopt for any other name.
std::optional<TimeoutName> ParseTimeoutName(std::string_view file_name);

}  // namespace nfct
