#include "exporter/http/listen.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "collectors/text.h"

namespace nfct {
namespace {

// A bound, listening TCP socket for host:port, or the errno that stopped it.
struct BoundSocket {
  int fd = -1;
  int error = 0;
};

// One candidate address of getaddrinfo: a socket bound to it and listening, or -1 (errno set).
int BindOne(const addrinfo& ai, int backlog) {
  int fd = socket(ai.ai_family, ai.ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  // SO_REUSEADDR only: SO_REUSEPORT would let a second exporter bind a busy port silently.
  int yes = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  if (ai.ai_family == AF_INET6) {
    // "::" (from ":port") must accept IPv4 too.
    int no = 0;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof no);
  }
  if (bind(fd, ai.ai_addr, ai.ai_addrlen) == 0 && listen(fd, backlog) == 0) return fd;
  int error = errno;
  close(fd);
  errno = error;
  return -1;
}

BoundSocket BindListen(const std::string& host, int port, int backlog) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string port_text = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), port_text.c_str(), &hints, &found); rc != 0) {
    return {-1, rc == EAI_SYSTEM ? errno : EADDRNOTAVAIL};
  }
  BoundSocket result{-1, EADDRNOTAVAIL};
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    int fd = BindOne(*ai, backlog);
    if (fd >= 0) {
      result = {fd, 0};
      break;
    }
    result.error = errno;
  }
  freeaddrinfo(found);
  return result;
}

}  // namespace

std::optional<HostPort> ParseListenAddress(std::string_view address) {
  HostPort result;
  std::string_view port_text;
  if (address.starts_with("[")) {
    size_t close = address.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    result.host = address.substr(1, close - 1);
    port_text = address.substr(close + 2);
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    result.host = address.substr(0, colon);
    if (result.host.find(':') != std::string::npos) return std::nullopt;  // v6 needs brackets
    port_text = address.substr(colon + 1);
  }
  std::optional<int> port = ParseInteger<int>(port_text);
  if (!port || *port < 0 || *port > 65535) return std::nullopt;
  result.port = *port;
  return result;
}

ListenSocket OpenListenSocket(const std::string& address, int backlog) {
  auto host_port = ParseListenAddress(address);
  if (!host_port) return {-1, "invalid listen address \"" + address + "\""};
  std::string host = host_port->host.empty() ? "::" : host_port->host;
  BoundSocket bound = BindListen(host, host_port->port, backlog);
  if (bound.fd < 0 && host_port->host.empty()) {
    // No IPv6 here (e.g. disabled in a container): every IPv4 address then.
    bound = BindListen("0.0.0.0", host_port->port, backlog);
  }
  if (bound.fd < 0) return {-1, "cannot listen on " + address + ": " + std::strerror(bound.error)};
  return {bound.fd, ""};
}

int LocalPort(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return -1;
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
  }
  return ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
}

long RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return -1;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return static_cast<long>(limit.rlim_cur);
}

}  // namespace nfct
