#include "exporter/web/systemd_socket.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include "collectors/text.h"

namespace nfct {
namespace {

// sd_listen_fds(3): the passed descriptors start at 3 (SD_LISTEN_FDS_START).
constexpr int kListenFdsStart = 3;

// A whole decimal number, or nothing ("", "3x", "-1" and overflow are not numbers).
std::optional<long> ParseNumber(const char* text) {
  if (text == nullptr) return std::nullopt;
  std::optional<long> value = ParseInteger<long>(text);
  if (!value || *value < 0) return std::nullopt;
  return value;
}

int SocketOption(int fd, int option) {
  int value = -1;
  socklen_t length = sizeof(value);
  if (getsockopt(fd, SOL_SOCKET, option, &value, &length) != 0) return -1;
  return value;
}

// Empty when `fd` is a listening TCP socket (what ListenStream=<port or address> passes);
// otherwise what it is instead. Unix sockets are refused: the server's per-client limits and
// its logged port are about IP addresses.
std::string WhyNotListening(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return "is not open";
  if (!S_ISSOCK(st.st_mode)) return "is not a socket";
  if (SocketOption(fd, SO_TYPE) != SOCK_STREAM) return "is not a stream (TCP) socket";
  int domain = SocketOption(fd, SO_DOMAIN);
  if (domain != AF_INET && domain != AF_INET6) return "is not an IPv4 or IPv6 socket";
  if (SocketOption(fd, SO_ACCEPTCONN) != 1) return "is a stream socket that does not listen";
  return "";
}

}  // namespace

SystemdSockets TakeSystemdSockets() {
  SystemdSockets result;
  std::optional<long> pid = ParseNumber(getenv("LISTEN_PID"));
  const char* fds_text = getenv("LISTEN_FDS");
  std::optional<long> count = ParseNumber(fds_text);
  // Variables meant for another process (a parent that did not unset them) are not ours.
  const bool ours = pid && *pid == getpid();
  // As sd_listen_fds(1) does: a process this one starts must not take the sockets for its own.
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  if (!ours || fds_text == nullptr) {
    result.error =
        "no socket passed by systemd (LISTEN_FDS/LISTEN_PID unset or for another process); "
        "start the service through its .socket unit";
    return result;
  }
  if (!count || *count > 4096) {
    result.error = std::string("LISTEN_FDS=\"") + fds_text + "\" is not a count of descriptors";
    return result;
  }
  if (*count == 0) {
    result.error =
        "systemd passed no socket (LISTEN_FDS=0); check the .socket unit's ListenStream=";
    return result;
  }
  for (int fd = kListenFdsStart; fd < kListenFdsStart + *count; ++fd) {
    if (std::string why = WhyNotListening(fd); !why.empty()) {
      result.error = "file descriptor " + std::to_string(fd) + " passed by systemd " + why +
                     "; --web.systemd-socket serves ListenStream= TCP sockets only";
      result.fds.clear();
      return result;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    result.fds.push_back(fd);
  }
  return result;
}

}  // namespace nfct
