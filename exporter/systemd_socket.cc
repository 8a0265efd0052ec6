#include "exporter/systemd_socket.h"

#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>

#ifdef NFCT_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace nfct {

SystemdSockets TakeSystemdSockets() {
  SystemdSockets result;
#ifdef NFCT_HAVE_SYSTEMD
  // unset_environment=1: a process this one starts must not take the sockets for its own.
  int n = sd_listen_fds(1);
  if (n < 0) {
    result.error = std::string("sd_listen_fds: ") + strerror(-n);
    return result;
  }
  if (n == 0) {
    result.error =
        "no socket passed by systemd (LISTEN_FDS/LISTEN_PID unset or for another process); "
        "start the service through its .socket unit";
    return result;
  }
  for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; ++fd) {
    // ListenStream= only: a datagram socket, FIFO or a socket not yet listening cannot serve.
    if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
      result.error = "file descriptor " + std::to_string(fd) +
                     " passed by systemd is not a listening stream socket";
      result.fds.clear();
      return result;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    result.fds.push_back(fd);
  }
#else
  result.error = "this build has no libsystemd: --web.systemd-socket is not available";
#endif
  return result;
}

}  // namespace nfct
