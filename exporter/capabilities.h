// Least privilege at run time; main.cc calls KeepOnlyCapabilities once, before any thread starts
// (capabilities are per thread; threads inherit the creator's). It keeps in the permitted set only
// what the enabled collectors may raise (Collector::Capabilities) and empties the effective set:
// collectors raise one around the kernel call that checks it (collectors/privilege.h).
#pragma once

#include <string>
#include <vector>

#include "collectors/privilege.h"

namespace nfct {

struct CapabilityState {
  std::string held;   // permitted after the drop: "net_admin,syslog", "syslog", "none"
  std::string error;  // "" on success
};

// Not thread safe: call before starting threads. Also empties the inheritable and ambient sets.
CapabilityState KeepOnlyCapabilities(const std::vector<Capability>& needed);

// For the one-shot `doctor` command, not the server: raises every permitted capability into the
// effective set of the calling thread (a binary with file capabilities +p gets them only so).
void RaisePermittedCapabilities();

// The union of what the collectors need, each once, in a stable order.
std::vector<Capability> NeededCapabilities(
    const std::vector<std::vector<Capability>>& per_collector);

}  // namespace nfct
