#include "exporter/http_server.h"

#include <httplib.h>
#include <netinet/in.h>
#include <prometheus/text_serializer.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <sstream>

#include "collectors/log.h"
#include "exporter/version.h"

namespace nfct {
namespace {

// Threads serving connections per listen address; more connections wait for a free one.
constexpr size_t kWorkerThreads = 16;
constexpr const char* kExpositionType = "text/plain; version=0.0.4; charset=utf-8";

std::string HtmlEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// SO_REUSEADDR only: httplib's default also sets SO_REUSEPORT, which would let a second
// exporter bind a busy port silently instead of failing.
void ListenSocketOptions(socket_t sock) {
  int yes = 1;
  setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  int no = 0;
  // ":port" binds "::" and must accept IPv4 too; harmless on an IPv4 socket (fails quietly).
  setsockopt(sock, IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof no);
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
  auto [ptr, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), result.port);
  if (port_text.empty() || ec != std::errc() || ptr != port_text.data() + port_text.size() ||
      result.port < 0 || result.port > 65535) {
    return std::nullopt;
  }
  return result;
}

HttpServer::HttpServer(HttpOptions options, const CollectorSet& collectors,
                       std::vector<CollectorListing> listing)
    : options_(std::move(options)), collectors_(collectors), listing_(std::move(listing)) {}

HttpServer::~HttpServer() { Stop(); }

std::string HttpServer::RenderMetrics() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, collectors_.Collect());
  return out.str();
}

std::string HttpServer::RenderLanding() const {
  auto states = collectors_.States();
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>nf_conntrack_exporter"
          "</title></head>\n<body>\n<h1>nf_conntrack_exporter</h1>\n"
       << "<p>Version " << HtmlEscape(kVersion) << " (revision " << HtmlEscape(kRevision)
       << "). A Prometheus exporter for the Linux conntrack table; read-only.</p>\n"
       << "<p><a href=\"" << HtmlEscape(options_.telemetry_path) << "\">Metrics</a> · "
       << "<a href=\"/-/healthy\">Health</a> · <a href=\"/-/ready\">Readiness</a></p>\n"
       << "<h2>Collectors</h2>\n<table border=\"1\" cellpadding=\"4\">\n"
       << "<tr><th>collector</th><th>enabled</th><th>last status</th><th>reason</th>"
          "<th>what it reads</th></tr>\n";
  for (const auto& item : listing_) {
    std::string status = item.enabled ? "not scraped yet" : "-";
    std::string reason;
    for (const auto& state : states) {
      if (state.name == item.name && state.scraped) {
        status = std::string(state.status.CodeName());
        reason = state.status.reason();
      }
    }
    html << "<tr><td>" << HtmlEscape(item.name) << "</td><td>" << (item.enabled ? "yes" : "no")
         << "</td><td>" << HtmlEscape(status) << "</td><td>" << HtmlEscape(reason) << "</td><td>"
         << HtmlEscape(item.help) << "</td></tr>\n";
  }
  html << "</table>\n</body></html>\n";
  return html.str();
}

void HttpServer::Route(httplib::Server& server) {
  server.Get(options_.telemetry_path, [this](const httplib::Request&, httplib::Response& res) {
    int running = ++in_flight_scrapes_;
    if (options_.max_requests > 0 && running > options_.max_requests) {
      --in_flight_scrapes_;
      res.status = 503;
      res.set_content("Too many concurrent scrapes; raise --web.max-requests.\n", "text/plain");
      return;
    }
    res.set_content(RenderMetrics(), kExpositionType);
    --in_flight_scrapes_;
  });
  server.Get("/", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(RenderLanding(), "text/html; charset=utf-8");
  });
  server.Get("/-/healthy", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("Healthy.\n", "text/plain; charset=utf-8");
  });
  server.Get("/-/ready", [this](const httplib::Request&, httplib::Response& res) {
    if (ready_) {
      res.set_content("Ready.\n", "text/plain; charset=utf-8");
    } else {
      res.status = 503;
      res.set_content("Starting.\n", "text/plain; charset=utf-8");
    }
  });
  // Known paths with another method: 405 and the methods that work.
  for (const std::string path : {options_.telemetry_path, std::string("/"),
                                 std::string("/-/healthy"), std::string("/-/ready")}) {
    auto not_allowed = [](const httplib::Request&, httplib::Response& res) {
      res.status = 405;
      res.set_header("Allow", "GET, HEAD");
      res.set_content("Method not allowed.\n", "text/plain; charset=utf-8");
    };
    server.Post(path, not_allowed);
    server.Put(path, not_allowed);
    server.Delete(path, not_allowed);
    server.Patch(path, not_allowed);
    server.Options(path, not_allowed);
  }
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 404) {
      res.set_content("Not found. Try / or the metrics path.\n", "text/plain; charset=utf-8");
    }
  });
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
        std::string what = "unknown";
        try {
          if (error) std::rethrow_exception(error);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        Log(LogLevel::kError, "request failed", {{"err", what}});
        res.status = 500;
        res.set_content("Internal error.\n", "text/plain; charset=utf-8");
      });
  // Hostile clients: bounded bodies and time. httplib serves one connection per pool thread, so
  // idle or slow connections must give their thread back quickly; Prometheus reconnects.
  server.set_payload_max_length(64 * 1024);
  server.set_read_timeout(5, 0);
  server.set_write_timeout(30, 0);
  server.set_keep_alive_timeout(5);
  server.new_task_queue = [] { return new httplib::ThreadPool(kWorkerThreads); };
  server.set_socket_options(ListenSocketOptions);
}

std::string HttpServer::Listen(const std::vector<std::string>& addresses) {
  for (const auto& address : addresses) {
    auto host_port = ParseListenAddress(address);
    if (!host_port) return "invalid listen address \"" + address + "\"";
    auto server = std::make_unique<httplib::Server>();
    Route(*server);
    std::string host = host_port->host;
    if (host.empty()) host = "::";
    errno = 0;
    int port = host_port->port == 0
                   ? server->bind_to_any_port(host)
                   : (server->bind_to_port(host, host_port->port) ? host_port->port : -1);
    if (port < 0 && host_port->host.empty()) {
      // No IPv6 here (e.g. disabled in a container): every IPv4 address then.
      errno = 0;
      host = "0.0.0.0";
      port = host_port->port == 0
                 ? server->bind_to_any_port(host)
                 : (server->bind_to_port(host, host_port->port) ? host_port->port : -1);
    }
    if (port < 0) {
      int error = errno;
      return "cannot listen on " + address + ": " +
             (error ? std::strerror(error) : "bind failed (address in use or not local)");
    }
    ports_.push_back(port);
    servers_.push_back(std::move(server));
    Log(LogLevel::kInfo, "listening", {{"address", address}, {"port", std::to_string(port)}});
  }
  return "";
}

void HttpServer::Start() {
  // httplib's stop() does nothing until the listener thread has marked itself running; a
  // SIGTERM right after start would otherwise leave Stop() joining a thread that never ends.
  for (auto& server : servers_) {
    auto finished = std::make_shared<std::atomic<bool>>(false);
    threads_.emplace_back([raw = server.get(), finished] {
      raw->listen_after_bind();
      *finished = true;
    });
    while (!server->is_running() && !*finished) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
}

void HttpServer::Stop() {
  for (auto& server : servers_) server->stop();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
}

}  // namespace nfct
