// The HTTP face of the exporter (cpp-httplib): the telemetry path, a landing page at /,
// /-/healthy and /-/ready; 404 for other paths, 405 for other methods. One listener thread per
// --web.listen-address; requests run on httplib's thread pool and scrape the CollectorSet
// concurrently. Stop() stops accepting and waits for in-flight requests.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "exporter/collector_set.h"

namespace httplib {
class Server;
}

namespace nfct {

struct HostPort {
  std::string host;  // "" means every address
  int port = 0;
};
// "host:port", ":port", "[v6addr]:port"; nullopt when malformed or the port is out of range.
std::optional<HostPort> ParseListenAddress(std::string_view address);

struct HttpOptions {
  std::string telemetry_path = "/metrics";
  int max_requests = 40;  // 0: no limit
};

// One row of the landing page's collector table.
struct CollectorListing {
  std::string name;
  bool enabled;
  std::string help;
};

class HttpServer {
 public:
  HttpServer(HttpOptions options, const CollectorSet& collectors,
             std::vector<CollectorListing> listing);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds every address before serving any; returns "" or one line naming the address and error.
  std::string Listen(const std::vector<std::string>& addresses);
  // The bound ports, in the order of the addresses (useful with port 0).
  std::vector<int> ports() const { return ports_; }
  void Start();
  void Stop();
  void SetReady(bool ready) { ready_ = ready; }

 private:
  void Route(httplib::Server& server);
  std::string RenderMetrics() const;
  std::string RenderLanding() const;

  HttpOptions options_;
  const CollectorSet& collectors_;
  std::vector<CollectorListing> listing_;
  std::vector<std::unique_ptr<httplib::Server>> servers_;
  std::vector<std::thread> threads_;
  std::vector<int> ports_;
  std::atomic<bool> ready_{false};
  std::atomic<int> in_flight_scrapes_{0};
};

}  // namespace nfct
