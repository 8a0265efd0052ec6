#include "exporter/capabilities.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace nfct {

std::vector<Capability> NeededCapabilities(
    const std::vector<std::vector<Capability>>& per_collector) {
  std::vector<Capability> needed;
  for (const auto& capabilities : per_collector) {
    for (Capability capability : capabilities) {
      if (std::find(needed.begin(), needed.end(), capability) == needed.end()) {
        needed.push_back(capability);
      }
    }
  }
  std::sort(needed.begin(), needed.end());
  return needed;
}

void RaisePermittedCapabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return;
  for (auto& word : data) word.effective |= word.permitted;
  syscall(SYS_capset, &header, data);
}

CapabilityState KeepOnlyCapabilities(const std::vector<Capability>& needed) {
  // Raw syscalls, as in collectors/privilege.cc: no libcap at run time.
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  CapabilityState state;
  if (syscall(SYS_capget, &header, data) != 0) {
    return {"unknown", std::string("capget: ") + std::strerror(errno)};
  }
  unsigned keep[_LINUX_CAPABILITY_U32S_3] = {};
  for (Capability capability : needed) {
    keep[static_cast<int>(capability) / 32] |= 1u << (static_cast<int>(capability) % 32);
  }
  for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; ++i) {
    data[i].permitted &= keep[i];
    data[i].effective = 0;
    data[i].inheritable = 0;
  }
  // Ambient capabilities survive exec; the exporter never execs, but holds none it does not use.
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  if (syscall(SYS_capset, &header, data) != 0) {
    state.error = std::string("capset: ") + std::strerror(errno);
  }
  ThreadCapabilities now = CurrentCapabilities();
  for (Capability capability : needed) {
    if ((now.permitted >> static_cast<int>(capability) & 1) == 0) continue;
    if (!state.held.empty()) state.held += ",";
    state.held += CapabilityShortName(capability);
  }
  if (state.held.empty()) state.held = "none";
  return state;
}

}  // namespace nfct
