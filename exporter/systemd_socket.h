// --web.systemd-socket: the listening sockets systemd passes to a socket-activated service
// (LISTEN_FDS/LISTEN_PID, sd_listen_fds from libsystemd). main() calls it once, before any
// thread starts (it unsets the variables so children do not inherit them). Not thread safe.
#pragma once

#include <string>
#include <vector>

namespace nfct {

struct SystemdSockets {
  std::vector<int> fds;  // listening stream sockets, close-on-exec, owned by the caller
  std::string error;     // non-empty: one line saying why there are none
};

SystemdSockets TakeSystemdSockets();

}  // namespace nfct
