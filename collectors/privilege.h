// Capabilities raised into the calling thread's effective set only around the system call the
// kernel checks: the netlink socket and request (CAP_NET_ADMIN), the /dev/kmsg open (CAP_SYSLOG),
// the /proc listing and another process's ns/net (CAP_SYS_PTRACE), setns (CAP_SYS_ADMIN), the BPF
// load of the refused collector (CAP_BPF + CAP_PERFMON).
// The exporter keeps them permitted but not effective while serving (exporter/capabilities.h).
// Linux capabilities are per thread: a ScopedCapability affects only the thread that made it.
#pragma once

#include <linux/capability.h>

#include <string_view>
#include <vector>

namespace nfct {

enum class Capability {
  kNetAdmin = CAP_NET_ADMIN,
  kSyslog = CAP_SYSLOG,
  kSysAdmin = CAP_SYS_ADMIN,
  kSysPtrace = CAP_SYS_PTRACE,
  kDacReadSearch = CAP_DAC_READ_SEARCH,
  kPerfmon = CAP_PERFMON,  // with kBpf: loading a tracing BPF program (collector refused)
  kBpf = CAP_BPF,
};

// "net_admin", as setpriv(1), getcap(8) and the start log line's capabilities= field name it.
std::string_view CapabilityShortName(Capability capability);

// The capabilities of the calling thread's effective and permitted sets.
struct ThreadCapabilities {
  unsigned long long effective = 0;  // bit N = capability N
  unsigned long long permitted = 0;
  int error = 0;  // errno of capget, 0 on success
};
ThreadCapabilities CurrentCapabilities();
// Whether the calling thread may raise `capability` (it is in the permitted set).
bool CapabilityPermitted(Capability capability);

// Raises `capability` into the effective set if it is permitted and not already effective, and
// lowers it again on destruction. When it is not permitted, nothing happens: the guarded call
// then fails with EPERM and the collector reports the capability as missing.
class ScopedCapability {
 public:
  explicit ScopedCapability(Capability capability);
  ~ScopedCapability();
  ScopedCapability(const ScopedCapability&) = delete;
  ScopedCapability& operator=(const ScopedCapability&) = delete;

 private:
  Capability capability_;
  bool raised_ = false;
};

}  // namespace nfct
