// Raises the process's permitted capabilities into its effective set; main.cc calls it once,
// before any thread starts (capabilities are per thread; later threads inherit them).
// Why: Docker and Kubernetes give a non-root container user an added capability only through
// a file capability on the binary, which the image sets as permitted-only (docs/deployment.md).
#pragma once

#include <string>

namespace nfct {

struct CapabilityState {
  std::string effective;  // of the ones collectors use: "net_admin,syslog", "syslog", "none"
  std::string error;      // "" on success
};

// Not thread safe: call before starting threads.
CapabilityState RaisePermittedCapabilities();

}  // namespace nfct
