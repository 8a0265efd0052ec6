// --web.systemd-socket: the listening sockets systemd passes to a socket-activated service, taken
// by the sd_listen_fds(3) protocol (LISTEN_PID/LISTEN_FDS, fds from 3 on) without libsystemd.
// main() calls it once, before any thread starts (it unsets the variables so children do not
// inherit them, and setenv/unsetenv are not thread safe). Not thread safe.
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
