// The HTTP face of the exporter on libmicrohttpd: the telemetry path, a landing page at /,
// /-/healthy and /-/ready; 404 for other paths, 405 for other methods. main() owns one; tests
// run it in-process on port 0. Per listen socket a small pool of event-loop threads (epoll) does
// the I/O and answers requests itself; only a check that may block (bcrypt) goes to a worker.
// Public methods are called from one thread (main); the hooks run on loop and worker threads.
#pragma once

#include <microhttpd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "exporter/collector_set.h"
#include "exporter/http/connection_limits.h"
#include "exporter/http/http_options.h"
#include "exporter/http/landing_page.h"
// Listen() takes --web.listen-address values; main() raises the file limit through this too.
#include "exporter/http/listen.h"

namespace nfct {

// A request as the hooks see it: copied out of the connection, valid during the hook call.
struct HttpRequest {
  std::string_view method;
  std::string_view path;
  std::span<const std::pair<std::string, std::string>> headers;
  MHD_Connection* connection = nullptr;  // for TLS session info
  // Case-insensitive header lookup; "" when absent.
  std::string_view Header(std::string_view name) const;
};

// A complete answer a hook may give instead of the normal one (e.g. 401 with WWW-Authenticate).
struct HttpReply {
  unsigned status = 200;
  std::string body;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
};

// What a request check decided: let the request through, answer it with `reply`, or (only when
// it was asked not to block) that deciding needs slow work.
struct HttpCheckResult {
  enum class Verdict { kPass, kReply, kWouldBlock } verdict = Verdict::kPass;
  HttpReply reply;  // for kReply
};

// Where --web.config.file plugs in: extra daemon flags/options (TLS), a check of every GET/HEAD
// request before routing (authentication), and headers added to every response.
struct HttpHooks {
  unsigned int daemon_flags = 0;               // e.g. MHD_USE_TLS
  std::vector<MHD_OptionItem> daemon_options;  // without MHD_OPTION_END; pointers must outlive Stop
  // Runs on the event-loop thread when a connection is accepted, before any byte is read (TLS:
  // client-certificate policy for the handshake). false closes the connection.
  std::function<bool(MHD_Connection*)> connection_started;
  // Runs first on an event-loop thread with may_block false, where it must answer in
  // microseconds; only after kWouldBlock, once more for the same request on a worker thread with
  // may_block true. The second call continues the first: what the first did (taking a
  // rate-limit token) is not done again. Must be thread safe.
  std::function<HttpCheckResult(const HttpRequest&, bool may_block)> check;
  std::vector<std::pair<std::string, std::string>> response_headers;
};

// How requests are answered, and why. Each listen socket is served by two libmicrohttpd daemons
// of one epoll loop each, on dups of the socket (an inherited socket is then only ever closed,
// never shut down, so systemd's socket outlives a restart). A connection stays on the loop that
// accepted it, and that loop answers its requests in the request callback: health, readiness,
// landing page, 404s and scrapes (kept-open files and snapshots). Answering on the loop instead
// of handing each request to a worker saved about a quarter of a scrape's CPU; two loops, not
// one, so a slow scrape leaves the other loop accepting and answering (503 over
// --web.max-requests). The measurements: docs/benchmarks.md. Only a check that may block (bcrypt
// on a password not yet remembered) is suspended and handed to one of two workers.
class HttpServer {
 public:
  HttpServer(HttpOptions options, const CollectorSet& collectors,
             std::vector<CollectorListing> listing, HttpHooks hooks = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds every address before serving any; returns "" or one line naming the address and error.
  std::string Listen(const std::vector<std::string>& addresses);
  // Serves on a socket that is already bound and listening (systemd socket activation); the
  // server owns it from here. Returns "" or why not.
  std::string AdoptListenSocket(int fd, std::string_view label);
  // The bound ports, in the order of the addresses (useful with port 0).
  std::vector<int> ports() const { return ports_; }
  // Starts serving; "" or why a listener could not start.
  std::string Start();
  // Stops accepting, lets requests in flight finish (up to 5 s), then closes every connection.
  void Stop();
  void SetReady(bool ready) { ready_ = ready; }

  struct Connection;  // per-connection state; defined in http_server.cc

 private:
  static MHD_Result OnRequest(void* cls, MHD_Connection* connection, const char* url,
                              const char* method, const char* version, const char* upload_data,
                              size_t* upload_data_size, void** request_context);
  static void OnConnection(void* cls, MHD_Connection* connection, void** socket_context,
                           MHD_ConnectionNotificationCode code);
  static void OnCompleted(void* cls, MHD_Connection* connection, void** request_context,
                          MHD_RequestTerminationCode code);
  static MHD_Result OnAccept(void* cls, const sockaddr* address, socklen_t length);
  // One event-loop daemon on a duplicate of `listen_fd` (see kLoopThreads); "" or why not.
  std::string StartLoop(int listen_fd, unsigned connection_limit);
  MHD_Result OnHead(MHD_Connection* connection, const char* url, const char* method,
                    void** request_context);
  MHD_Result Respond(MHD_Connection* connection, Connection& state);
  // Counts a scrape against --web.max-requests; false when over it (answer 503).
  bool AdmitScrape(Connection& state);
  MHD_Response* MakeResponse(const HttpReply& reply) const;
  MHD_Result Queue(MHD_Connection* connection, const HttpReply& reply);
  MHD_Result SendPrepared(MHD_Connection* connection, Connection& state);
  void WorkerLoop();
  void Answer(Connection& connection);
  // The exposition, gzipped when the client asks for it; nullptr when out of memory.
  MHD_Response* Scrape(Connection& connection, std::string_view accept_encoding);
  HttpRequest Request(const Connection& connection) const;

  HttpOptions options_;
  const CollectorSet& collectors_;
  std::vector<CollectorListing> listing_;
  HttpHooks hooks_;

  std::vector<int> listen_fds_;
  std::vector<int> ports_;
  std::vector<MHD_Daemon*> daemons_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> accepting_{true};  // false from Stop(): new connections are closed at once
  std::atomic<int> scrapes_{0};        // running (checks passed), against max_requests
  std::atomic<int> requests_{0};       // heads received and not completed, for a graceful Stop

  // Workers for requests whose check may block (bcrypt); none without a check.
  std::vector<std::thread> workers_;
  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<Connection*> queue_;
  bool stopping_ = false;

  // Per-client counts and the head deadlines of every connection (its reaper closes overdue ones).
  ConnectionLimits limits_;
};

}  // namespace nfct
