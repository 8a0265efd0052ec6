#include "exporter/capabilities.h"

#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace nfct {
namespace {

// Only the capabilities a collector uses are named: the log line answers "can table and kmsg
// work?", not "what else may this process do".
std::string Names(const __user_cap_data_struct data[2]) {
  auto has = [&](int cap) { return (data[cap / 32].effective & (1u << (cap % 32))) != 0; };
  std::string names;
  if (has(CAP_NET_ADMIN)) names = "net_admin";
  if (has(CAP_SYSLOG)) names += names.empty() ? "syslog" : ",syslog";
  return names.empty() ? "none" : names;
}

}  // namespace

CapabilityState RaisePermittedCapabilities() {
  // Raw syscalls keep libcap out of the runtime dependencies for two calls.
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) {
    return {"unknown", std::string("capget: ") + strerror(errno)};
  }
  bool missing = false;
  for (auto& d : data) {
    missing |= (d.permitted & ~d.effective) != 0;
    d.effective |= d.permitted;
  }
  CapabilityState state;
  if (missing && syscall(SYS_capset, &header, data) != 0) {
    state.error = std::string("capset: ") + strerror(errno);
    syscall(SYS_capget, &header, data);
  }
  state.effective = Names(data);
  return state;
}

}  // namespace nfct
