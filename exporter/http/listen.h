// Where the HTTP server listens: --web.listen-address parsing, binding a listening TCP socket,
// the port of a socket systemd passed in, and the open-file limit the connections need.
// HttpServer::Listen/AdoptListenSocket and main() call these. Thread safe (no state), though
// RaiseOpenFileLimit changes the process's limit and belongs to startup.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace nfct {

struct HostPort {
  std::string host;  // "" means every address
  int port = 0;
};
// "host:port", ":port", "[v6addr]:port"; nullopt when malformed or the port is out of range.
std::optional<HostPort> ParseListenAddress(std::string_view address);

// A bound, listening TCP socket (close-on-exec, non-blocking), or why there is none.
struct ListenSocket {
  int fd = -1;
  std::string error;  // "" when fd is valid: one line naming the address and the error
};
// Parses `address` and binds it with `backlog`; ":port" is every IPv6 and IPv4 address, or every
// IPv4 address where there is no IPv6.
ListenSocket OpenListenSocket(const std::string& address, int backlog);

// The local port of a bound socket; -1 (errno set) when it has none.
int LocalPort(int fd);

// Raises the soft RLIMIT_NOFILE to the hard limit (as Go programs do); returns the new soft limit.
long RaiseOpenFileLimit();

}  // namespace nfct
