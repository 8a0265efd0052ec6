#include "exporter/http/http_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>

#include "collectors/log.h"
#include "exporter/exposition.h"
#include "exporter/http/gzip.h"

namespace nfct {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr const char* kExpositionType = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kTextType = "text/plain; charset=utf-8";
// Request bodies are never read: anything larger than this is refused before it is sent.
constexpr size_t kMaxBodyBytes = 64 * 1024;
// Event-loop threads per listen socket; each answers the requests of its own connections. Each is
// a daemon of its own, not a libmicrohttpd thread pool: a pool's MHD_stop_daemon (0.9.75) calls
// shutdown() on the listen socket, and shutdown acts on the socket, not the descriptor, so it
// would also close systemd's copy of an inherited socket (the .socket unit then fails with
// POLLHUP). A daemon without a pool and with an ITC only closes its descriptor.
constexpr unsigned kLoopThreads = 2;
// Workers for requests whose check may block (bcrypt); BasicAuth lets one run bcrypt while the
// other refuses what is over the budget.
constexpr int kWorkers = 2;
// Response buffers kept for reuse; more responses in flight than this allocate and free.
constexpr size_t kPooledBuffers = 16;
// How long Stop() lets requests in flight finish.
constexpr auto kStopGrace = std::chrono::seconds(5);

void MhdLog(void*, const char* format, va_list args) {
  char line[512];
  vsnprintf(line, sizeof line, format, args);
  std::string_view text(line);
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  Log(LogLevel::kDebug, "http", {{"detail", text}});
}

// Response bodies live in buffers that go back to a pool when libmicrohttpd has sent them, so a
// scrape in steady state allocates no body memory.
class BufferPool {
 public:
  struct Buffer {
    std::string data;
    size_t used = 0;
    BufferPool* pool = nullptr;
  };
  std::unique_ptr<Buffer> Take() {
    std::lock_guard lock(mutex_);
    if (free_.empty()) {
      auto buffer = std::make_unique<Buffer>();
      buffer->pool = this;
      return buffer;
    }
    auto buffer = std::move(free_.back());
    free_.pop_back();
    buffer->used = 0;
    return buffer;
  }
  static void Give(void* cls) {
    std::unique_ptr<Buffer> buffer(static_cast<Buffer*>(cls));
    BufferPool* pool = buffer->pool;
    std::lock_guard lock(pool->mutex_);
    if (pool->free_.size() < kPooledBuffers) pool->free_.push_back(std::move(buffer));
  }

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<Buffer>> free_;
};

BufferPool& Buffers() {
  static BufferPool* pool = new BufferPool;  // outlives every server; never destroyed
  return *pool;
}

MHD_Response* ResponseFromBuffer(std::unique_ptr<BufferPool::Buffer> buffer) {
  size_t used = buffer->used;
  char* data = buffer->data.data();
  BufferPool::Buffer* raw = buffer.release();
  MHD_Response* response =
      MHD_create_response_from_buffer_with_free_callback_cls(used, data, BufferPool::Give, raw);
  if (response == nullptr) BufferPool::Give(raw);
  return response;
}

MHD_Response* StaticResponse(std::string_view text) {
  return MHD_create_response_from_buffer(text.size(), const_cast<char*>(text.data()),
                                         MHD_RESPMEM_PERSISTENT);
}

HttpReply TooManyScrapes() {
  return {503, "Too many concurrent scrapes; raise --web.max-requests.\n"};
}

MHD_Response* CopiedResponse(std::string_view text) {
  return MHD_create_response_from_buffer(text.size(), const_cast<char*>(text.data()),
                                         MHD_RESPMEM_MUST_COPY);
}

// What a thread that answers scrapes reuses from one to the next: the sample buffers, the
// exposition before compression and a gzip compressor (allocated once: its tables are large).
struct Scratch {
  std::string text;       // the exposition before compression
  ExpositionSink scrape;  // the scrape's sample buffers
  GzipCompressor gzip;
};

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

}  // namespace

// State of one accepted connection, from accept to close; owned through libmicrohttpd's
// socket context (created on NOTIFY_STARTED, deleted on NOTIFY_CLOSED).
struct HttpServer::Connection {
  MHD_Connection* mhd = nullptr;
  ConnectionLimits::Slot* limits = nullptr;  // its client count and head deadline
  // The request being answered; written by the event loop, and when a check must block, read
  // by one worker while the connection is suspended.
  std::string method;
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;  // reused across requests
  size_t header_count = 0;
  enum class Stage { kHead, kWorking } stage = Stage::kHead;
  size_t body_bytes = 0;
  bool counted_scrape = false;
  MHD_Response* response = nullptr;
  unsigned status = 0;
};

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && strncasecmp(key.data(), name.data(), name.size()) == 0) {
      return value;
    }
  }
  return {};
}

HttpServer::HttpServer(HttpOptions options, const CollectorSet& collectors,
                       std::vector<CollectorListing> listing, HttpHooks hooks)
    : options_(std::move(options)),
      collectors_(collectors),
      listing_(std::move(listing)),
      hooks_(std::move(hooks)),
      limits_(options_.limits) {}

HttpServer::~HttpServer() {
  Stop();
  for (int fd : listen_fds_) close(fd);
}

std::string HttpServer::Listen(const std::vector<std::string>& addresses) {
  for (const auto& address : addresses) {
    ListenSocket bound = OpenListenSocket(address, options_.limits.listen_backlog);
    if (bound.fd < 0) return bound.error;
    if (auto error = AdoptListenSocket(bound.fd, address); !error.empty()) return error;
  }
  return "";
}

std::string HttpServer::AdoptListenSocket(int fd, std::string_view label) {
  int port = LocalPort(fd);
  if (port < 0) {
    std::string error = std::strerror(errno);
    close(fd);
    return "cannot use listen socket " + std::string(label) + ": " + error;
  }
  listen_fds_.push_back(fd);
  ports_.push_back(port);
  Log(LogLevel::kInfo, "listening", {{"address", label}, {"port", std::to_string(port)}});
  return "";
}

std::string HttpServer::Start() {
  if (hooks_.check) {
    for (int i = 0; i < kWorkers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  }
  limits_.StartReaper();

  const HttpLimits& limits = options_.limits;
  // libmicrohttpd splits the connection limit between the threads: each needs one at least.
  unsigned threads = std::min(kLoopThreads, limits.max_connections);
  for (int fd : listen_fds_) {
    for (unsigned loop = 0; loop < threads; ++loop) {
      // libmicrohttpd split the limit between a pool's threads the same way.
      unsigned limit =
          limits.max_connections / threads + (loop < limits.max_connections % threads ? 1u : 0u);
      if (auto error = StartLoop(fd, limit); !error.empty()) return error;
    }
  }
  return "";
}

std::string HttpServer::StartLoop(int listen_fd, unsigned connection_limit) {
  const HttpLimits& limits = options_.limits;
  unsigned timeout_seconds =
      static_cast<unsigned>(std::max<int64_t>(1, (limits.idle_timeout.count() + 999) / 1000));
  int own = fcntl(listen_fd, F_DUPFD_CLOEXEC, 3);
  if (own < 0) return "cannot duplicate the listen socket: " + std::string(std::strerror(errno));
  std::vector<MHD_OptionItem> items = {
      {MHD_OPTION_LISTEN_SOCKET, own, nullptr},
      {MHD_OPTION_CONNECTION_LIMIT, connection_limit, nullptr},
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<intptr_t>(limits.max_header_bytes), nullptr},
      {MHD_OPTION_CONNECTION_TIMEOUT, timeout_seconds, nullptr},
      {MHD_OPTION_NOTIFY_CONNECTION, reinterpret_cast<intptr_t>(&HttpServer::OnConnection), this},
      {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&HttpServer::OnCompleted), this},
      {MHD_OPTION_EXTERNAL_LOGGER, reinterpret_cast<intptr_t>(&MhdLog), nullptr},
  };
  for (const auto& item : hooks_.daemon_options) items.push_back(item);
  items.push_back({MHD_OPTION_END, 0, nullptr});
  unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                       MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | hooks_.daemon_flags;
  MHD_Daemon* daemon =
      MHD_start_daemon(flags, 0, &HttpServer::OnAccept, this, &HttpServer::OnRequest, this,
                       MHD_OPTION_ARRAY, items.data(), MHD_OPTION_END);
  if (daemon == nullptr) {
    close(own);
    return "cannot start the HTTP server on port " + std::to_string(LocalPort(listen_fd)) +
           " (libmicrohttpd refused the options; see debug log)";
  }
  // The daemon owns `own` from here and closes it on stop.
  daemons_.push_back(daemon);
  return "";
}

void HttpServer::Stop() {
  if (!limits_.reaping()) return;  // never started, or stopped already
  // Stop accepting first: a new connection is closed as soon as it is accepted. Not with
  // MHD_quiesce_daemon: with a thread pool and epoll, libmicrohttpd 0.9.75 removes the listen
  // socket from each thread's epoll set from this thread, racing with the thread doing the same
  // (at its connection limit), and aborts when it loses; nor by shutting the socket down, which
  // leaves it readable and spins every loop until the daemon stops.
  accepting_ = false;
  auto give_up = SteadyClock::now() + kStopGrace;
  while (requests_ > 0 && SteadyClock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Workers drain their queue before they end, so no connection stays suspended.
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  for (auto& worker : workers_) worker.join();
  workers_.clear();
  // Closes every connection and the daemon's own descriptor of the listen socket, once its loop
  // thread has ended; the socket itself is never shut down (see kLoopThreads).
  for (MHD_Daemon* daemon : daemons_) MHD_stop_daemon(daemon);
  daemons_.clear();
  for (int fd : listen_fds_) close(fd);
  listen_fds_.clear();
  limits_.StopReaper();
}

MHD_Result HttpServer::OnAccept(void* cls, const sockaddr* address, socklen_t) {
  auto* server = static_cast<HttpServer*>(cls);
  if (!server->accepting_) return MHD_NO;
  // MHD_NO: libmicrohttpd closes it at once, unanswered.
  return server->limits_.Admit(address) ? MHD_YES : MHD_NO;
}

void HttpServer::OnConnection(void* cls, MHD_Connection* mhd, void** socket_context,
                              MHD_ConnectionNotificationCode code) {
  auto* server = static_cast<HttpServer*>(cls);
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    const MHD_ConnectionInfo* info =
        MHD_get_connection_info(mhd, MHD_CONNECTION_INFO_CONNECTION_FD);
    int fd = info ? info->connect_fd : -1;
    // Headers and body leave in one write; without this a kept-alive scrape waits for the
    // peer's delayed ACK (~40 ms).
    int yes = 1;
    if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    if (server->hooks_.connection_started && !server->hooks_.connection_started(mhd) && fd >= 0)
      shutdown(fd, SHUT_RDWR);
    const MHD_ConnectionInfo* address =
        MHD_get_connection_info(mhd, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    auto* connection = new Connection;
    connection->mhd = mhd;
    connection->limits = server->limits_.Track(fd, address ? address->client_addr : nullptr);
    *socket_context = connection;
  } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context != nullptr) {
    // libmicrohttpd calls this before it closes the socket, so the reaper never shuts down a
    // descriptor that was reused.
    auto* connection = static_cast<Connection*>(*socket_context);
    server->limits_.Release(connection->limits);
    delete connection;
    *socket_context = nullptr;
  }
}

void HttpServer::OnCompleted(void* cls, MHD_Connection*, void** request_context,
                             MHD_RequestTerminationCode) {
  auto* server = static_cast<HttpServer*>(cls);
  auto* connection = static_cast<Connection*>(*request_context);
  if (connection == nullptr) return;
  *request_context = nullptr;
  if (connection->response != nullptr) {  // answered but never queued (connection died)
    MHD_destroy_response(connection->response);
    connection->response = nullptr;
  }
  // The next request on a kept-alive connection: the idle timeout and then a head deadline.
  server->limits_.AwaitNextHead(connection->limits);
  --server->requests_;
}

MHD_Response* HttpServer::MakeResponse(const HttpReply& reply) const {
  MHD_Response* response = CopiedResponse(reply.body);
  if (response == nullptr) return nullptr;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, reply.content_type.c_str());
  for (const auto& [name, value] : reply.headers) {
    MHD_add_response_header(response, name.c_str(), value.c_str());
  }
  for (const auto& [name, value] : hooks_.response_headers) {
    MHD_add_response_header(response, name.c_str(), value.c_str());
  }
  return response;
}

MHD_Result HttpServer::Queue(MHD_Connection* mhd, const HttpReply& reply) {
  MHD_Response* response = MakeResponse(reply);
  if (response == nullptr) return MHD_NO;
  MHD_Result result = MHD_queue_response(mhd, reply.status, response);
  MHD_destroy_response(response);
  return result;
}

MHD_Result HttpServer::SendPrepared(MHD_Connection* mhd, Connection& connection) {
  if (connection.response == nullptr) return MHD_NO;
  MHD_Result result = MHD_queue_response(mhd, connection.status, connection.response);
  MHD_destroy_response(connection.response);
  connection.response = nullptr;
  return result;
}

MHD_Result HttpServer::OnRequest(void* cls, MHD_Connection* mhd, const char* url,
                                 const char* method, const char*, const char*,
                                 size_t* upload_data_size, void** request_context) {
  auto* server = static_cast<HttpServer*>(cls);
  auto* connection = static_cast<Connection*>(*request_context);
  if (connection == nullptr) return server->OnHead(mhd, url, method, request_context);
  if (*upload_data_size != 0) {
    // A body nobody asked for: discarded, and a chunked one that grows too long is cut off.
    connection->body_bytes += *upload_data_size;
    *upload_data_size = 0;
    return connection->body_bytes > kMaxBodyBytes ? MHD_NO : MHD_YES;
  }
  if (connection->stage == Connection::Stage::kHead) {
    // The whole request is in. Answering from here (not from the first call) keeps the
    // connection alive: libmicrohttpd closes it when the first call queues a response.
    connection->stage = Connection::Stage::kWorking;
    return server->Respond(mhd, *connection);
  }
  // Called again after a worker resumed the connection: send what it prepared.
  return server->SendPrepared(mhd, *connection);
}

MHD_Result HttpServer::OnHead(MHD_Connection* mhd, const char* url, const char* method,
                              void** request_context) {
  const MHD_ConnectionInfo* info = MHD_get_connection_info(mhd, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  auto* connection = info ? static_cast<Connection*>(info->socket_context) : nullptr;
  if (connection == nullptr) return MHD_NO;
  limits_.HeadArrived(connection->limits);
  *request_context = connection;
  ++requests_;
  connection->stage = Connection::Stage::kHead;
  connection->body_bytes = 0;
  connection->method.assign(method);
  connection->path.assign(url);

  // Refusals that need not read the body: queued now, so libmicrohttpd closes the connection
  // instead of reading what the client still sends.
  std::string_view verb(method);
  const std::string& path = connection->path;
  bool known =
      path == options_.telemetry_path || path == "/" || path == "/-/healthy" || path == "/-/ready";
  const char* length_text =
      MHD_lookup_connection_value(mhd, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  unsigned long long length = length_text ? std::strtoull(length_text, nullptr, 10) : 0;
  if (length > kMaxBodyBytes) return Queue(mhd, {413, "Request body too large.\n"});
  if (verb != MHD_HTTP_METHOD_GET && verb != MHD_HTTP_METHOD_HEAD) {
    if (!known) return Queue(mhd, {404, "Not found. Try / or the metrics path.\n"});
    return Queue(mhd, {405, "Method not allowed.\n", kTextType, {{"Allow", "GET, HEAD"}}});
  }
  return MHD_YES;
}

bool HttpServer::AdmitScrape(Connection& connection) {
  connection.counted_scrape = false;
  if (connection.path != options_.telemetry_path || options_.max_requests <= 0) return true;
  if (++scrapes_ > options_.max_requests) {
    --scrapes_;
    return false;
  }
  connection.counted_scrape = true;
  return true;
}

MHD_Result HttpServer::Respond(MHD_Connection* mhd, Connection& connection) {
  connection.counted_scrape = false;
  connection.header_count = 0;
  MHD_get_connection_values(
      mhd, MHD_HEADER_KIND,
      [](void* cls, MHD_ValueKind, const char* key, const char* value) -> MHD_Result {
        auto* c = static_cast<Connection*>(cls);
        if (c->header_count == c->headers.size()) c->headers.emplace_back();
        auto& header = c->headers[c->header_count++];
        header.first.assign(key);
        header.second.assign(value ? value : "");
        return MHD_YES;
      },
      &connection);
  if (hooks_.check) {
    HttpCheckResult checked = hooks_.check(Request(connection), false);
    if (checked.verdict == HttpCheckResult::Verdict::kReply) return Queue(mhd, checked.reply);
    if (checked.verdict == HttpCheckResult::Verdict::kWouldBlock) {
      // Off the loop: this thread's other connections go on while a worker decides. Once Stop
      // has told the workers to end, nobody would answer a queued request (and a suspended
      // connection must not outlive the daemon): it gets 503 here instead.
      bool queued = false;
      {
        std::lock_guard lock(queue_mutex_);
        if (!stopping_) {
          MHD_suspend_connection(mhd);
          queue_.push_back(&connection);
          queued = true;
        }
      }
      if (!queued) return Queue(mhd, {503, "Shutting down.\n"});
      queue_cv_.notify_one();
      return MHD_YES;
    }
  }
  // Everything else is answered here, on the loop: a scrape reads kept-open files and
  // snapshots (~0.1-0.2 ms), the other paths are static or nearly.
  if (!AdmitScrape(connection)) return Queue(mhd, TooManyScrapes());
  Answer(connection);
  return SendPrepared(mhd, connection);
}

void HttpServer::WorkerLoop() {
  while (true) {
    Connection* connection = nullptr;
    {
      std::unique_lock lock(queue_mutex_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      connection = queue_.front();
      queue_.pop_front();
    }
    HttpCheckResult checked = hooks_.check(Request(*connection), true);
    using Verdict = HttpCheckResult::Verdict;
    if (checked.verdict == Verdict::kPass && AdmitScrape(*connection)) {
      Answer(*connection);
    } else {
      if (checked.verdict == Verdict::kPass) {
        checked.reply = TooManyScrapes();
      } else if (checked.verdict == Verdict::kWouldBlock) {
        // From a call that may block: refused rather than answered unchecked.
        checked.reply = {500, "Internal error: the request check did not decide.\n"};
      }
      connection->response = MakeResponse(checked.reply);
      connection->status = checked.reply.status;
    }
    MHD_resume_connection(connection->mhd);
  }
}

void HttpServer::Answer(Connection& connection) {
  HttpRequest request = Request(connection);
  auto finish = [&](MHD_Response* response, unsigned status, const char* type) {
    if (response != nullptr) {
      MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, type);
      for (const auto& [name, value] : hooks_.response_headers) {
        MHD_add_response_header(response, name.c_str(), value.c_str());
      }
    }
    connection.response = response;
    connection.status = status;
  };
  const std::string& path = connection.path;
  if (path == options_.telemetry_path) {
    finish(Scrape(connection, request.Header("Accept-Encoding")), MHD_HTTP_OK, kExpositionType);
  } else if (path == "/") {
    std::string page = RenderLandingPage(options_.telemetry_path, listing_, collectors_.States());
    finish(CopiedResponse(page), MHD_HTTP_OK, "text/html; charset=utf-8");
  } else if (path == "/-/healthy") {
    finish(StaticResponse("Healthy.\n"), MHD_HTTP_OK, kTextType);
  } else if (path == "/-/ready") {
    if (ready_) {
      finish(StaticResponse("Ready.\n"), MHD_HTTP_OK, kTextType);
    } else {
      finish(StaticResponse("Starting.\n"), MHD_HTTP_SERVICE_UNAVAILABLE, kTextType);
    }
  } else {
    finish(StaticResponse("Not found. Try / or the metrics path.\n"), MHD_HTTP_NOT_FOUND,
           kTextType);
  }
}

MHD_Response* HttpServer::Scrape(Connection& connection, std::string_view accept_encoding) {
  Scratch& scratch = ThreadScratch();
  auto body = Buffers().Take();
  bool gzip = scratch.gzip.ready() && AcceptsGzip(accept_encoding);
  std::string& text = gzip ? scratch.text : body->data;
  text.clear();
  collectors_.WriteScrape(scratch.scrape, text);
  if (connection.counted_scrape) --scrapes_;
  if (gzip) {
    body->used = scratch.gzip.Compress(text, body->data);
    gzip = body->used != 0;
    if (!gzip) {  // cannot happen with the compress bound; plain text is still right
      body->data.assign(text);
      body->used = text.size();
    }
  } else {
    body->used = text.size();
  }
  MHD_Response* response = ResponseFromBuffer(std::move(body));
  if (response != nullptr) {
    if (gzip) MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    MHD_add_response_header(response, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING);
  }
  return response;
}

HttpRequest HttpServer::Request(const Connection& connection) const {
  return {connection.method,
          connection.path,
          {connection.headers.data(), connection.header_count},
          connection.mhd};
}

}  // namespace nfct
