#include "collectors/privilege.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace nfct {
namespace {

// Raw syscalls keep libcap out of the runtime dependencies for two calls. The raw capset
// changes the calling thread only (glibc does not broadcast it), which is what a scoped raise
// on a worker thread wants.
struct RawCaps {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
};

bool Get(RawCaps& caps) { return syscall(SYS_capget, &caps.header, caps.data) == 0; }
bool Set(RawCaps& caps) { return syscall(SYS_capset, &caps.header, caps.data) == 0; }

unsigned Bit(Capability capability) { return 1u << (static_cast<int>(capability) % 32); }
int Word(Capability capability) { return static_cast<int>(capability) / 32; }

// Sets or clears one capability in the thread's effective set; true if it changed.
bool SetEffective(Capability capability, bool on) {
  RawCaps caps;
  if (!Get(caps)) return false;
  auto& word = caps.data[Word(capability)];
  if (on && ((word.permitted & Bit(capability)) == 0 || (word.effective & Bit(capability)) != 0)) {
    return false;
  }
  if (on) {
    word.effective |= Bit(capability);
  } else {
    word.effective &= ~Bit(capability);
  }
  return Set(caps);
}

}  // namespace

std::string_view CapabilityShortName(Capability capability) {
  switch (capability) {
    case Capability::kNetAdmin:
      return "net_admin";
    case Capability::kSyslog:
      return "syslog";
    case Capability::kSysAdmin:
      return "sys_admin";
    case Capability::kSysPtrace:
      return "sys_ptrace";
    case Capability::kDacReadSearch:
      return "dac_read_search";
    case Capability::kPerfmon:
      return "perfmon";
    case Capability::kBpf:
      return "bpf";
  }
  return "unknown";
}

ThreadCapabilities CurrentCapabilities() {
  RawCaps caps;
  if (!Get(caps)) return {0, 0, errno};
  ThreadCapabilities result;
  for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; ++i) {
    result.effective |= static_cast<unsigned long long>(caps.data[i].effective) << (32 * i);
    result.permitted |= static_cast<unsigned long long>(caps.data[i].permitted) << (32 * i);
  }
  return result;
}

bool CapabilityPermitted(Capability capability) {
  return (CurrentCapabilities().permitted >> static_cast<int>(capability) & 1) != 0;
}

ScopedCapability::ScopedCapability(Capability capability) : capability_(capability) {
  // errno belongs to the guarded call that follows, not to this bookkeeping.
  int saved = errno;
  raised_ = SetEffective(capability, true);
  errno = saved;
}

ScopedCapability::~ScopedCapability() {
  int saved = errno;
  if (raised_) SetEffective(capability_, false);
  errno = saved;
}

}  // namespace nfct
