// What the HTTP server may spend and what a hostile or broken client may hold. Filled by the
// flags (exporter/flags.cc), read by HttpServer once at construction. Plain data.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace nfct {

struct HttpLimits {
  unsigned max_connections = 4096;       // per listen address
  unsigned max_connections_per_ip = 64;  // 0: no limit
  size_t max_header_bytes = 16384;       // request line and headers; larger → 431 and close
  std::chrono::milliseconds read_header_timeout{10000};  // accept (or idle end) → complete head
  // No byte moved on a connection. Above Prometheus's own 5 min, so its kept-alive connection
  // outlives any scrape interval and a scrape needs no new conntrack entry (docs/notrack.md).
  std::chrono::milliseconds idle_timeout{360000};
  int listen_backlog = 1024;
};

struct HttpOptions {
  std::string telemetry_path = "/metrics";
  int max_requests = 40;  // scrapes queued or running; over it → 503. 0: no limit
  HttpLimits limits;
};

}  // namespace nfct
