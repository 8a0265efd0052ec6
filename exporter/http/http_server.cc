#include "exporter/http/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdarg>
#include <cstring>
#include <sstream>

#include "collectors/log.h"
#include "exporter/exposition.h"
#include "exporter/http/gzip.h"
#include "exporter/version.h"

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

void MhdLog(void*, const char* format, va_list args) {
  char line[512];
  vsnprintf(line, sizeof line, format, args);
  std::string_view text(line);
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  Log(LogLevel::kDebug, "http", {{"detail", text}});
}

// A bound, listening TCP socket for host:port, or the errno that stopped it.
struct BoundSocket {
  int fd = -1;
  int error = 0;
};

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
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      result.error = errno;
      continue;
    }
    // SO_REUSEADDR only: SO_REUSEPORT would let a second exporter bind a busy port silently.
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (ai->ai_family == AF_INET6) {
      // "::" (from ":port") must accept IPv4 too.
      int no = 0;
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof no);
    }
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0) {
      result = {fd, 0};
      break;
    }
    result.error = errno;
    close(fd);
  }
  freeaddrinfo(found);
  return result;
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

// State of one accepted connection, from accept to close; lives in connections_.
struct HttpServer::Connection {
  HttpServer* server = nullptr;
  MHD_Connection* mhd = nullptr;
  int fd = -1;
  std::string client;  // key in per_client_ while counted; "" when not counted
  std::list<Connection>::iterator self;
  // Guarded by connections_mutex_: the reaper shuts the socket down when a head is overdue.
  bool head_pending = true;
  SteadyClock::time_point deadline;
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

bool AcceptsGzip(std::string_view accept_encoding) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  auto equals = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
  };
  std::optional<bool> gzip;
  std::optional<bool> any;
  while (!accept_encoding.empty()) {
    size_t comma = accept_encoding.find(',');
    std::string_view item = accept_encoding.substr(0, comma);
    accept_encoding = comma == std::string_view::npos ? "" : accept_encoding.substr(comma + 1);
    std::string_view coding = trim(item.substr(0, item.find(';')));
    bool acceptable = true;
    for (size_t semi = item.find(';'); semi != std::string_view::npos;) {
      size_t next = item.find(';', semi + 1);
      std::string_view param = trim(item.substr(semi + 1, next - semi - 1));
      if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
        // q=0, 0.0, 0.00, 0.000 refuse; any other digit makes it acceptable.
        std::string_view q = param.substr(2);
        acceptable = q.find_first_of("123456789") != std::string_view::npos;
      }
      semi = next;
    }
    if (equals(coding, "gzip") || equals(coding, "x-gzip")) {
      gzip = acceptable;
    } else if (coding == "*") {
      any = acceptable;
    }
  }
  if (gzip) return *gzip;
  return any.value_or(false);
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

namespace {

// The client's address for --web.max-connections-per-ip ("from one client address", so across
// every listener and loop); "" for an address that is not IPv4 or IPv6 (not counted).
std::string ClientKey(const sockaddr* client) {
  if (client == nullptr) return "";
  if (client->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(client);
    return std::string(reinterpret_cast<const char*>(&in->sin_addr), sizeof in->sin_addr);
  }
  if (client->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(client);
    return std::string(reinterpret_cast<const char*>(&in6->sin6_addr), sizeof in6->sin6_addr);
  }
  return "";
}

}  // namespace

HttpServer::HttpServer(HttpOptions options, const CollectorSet& collectors,
                       std::vector<CollectorListing> listing, HttpHooks hooks)
    : options_(std::move(options)),
      collectors_(collectors),
      listing_(std::move(listing)),
      hooks_(std::move(hooks)) {}

HttpServer::~HttpServer() {
  Stop();
  for (int fd : listen_fds_) close(fd);
}

std::string HttpServer::Listen(const std::vector<std::string>& addresses) {
  for (const auto& address : addresses) {
    auto host_port = ParseListenAddress(address);
    if (!host_port) return "invalid listen address \"" + address + "\"";
    std::string host = host_port->host.empty() ? "::" : host_port->host;
    BoundSocket bound = BindListen(host, host_port->port, options_.limits.listen_backlog);
    if (bound.fd < 0 && host_port->host.empty()) {
      // No IPv6 here (e.g. disabled in a container): every IPv4 address then.
      bound = BindListen("0.0.0.0", host_port->port, options_.limits.listen_backlog);
    }
    if (bound.fd < 0) {
      return "cannot listen on " + address + ": " + std::strerror(bound.error);
    }
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
  reaper_ = std::thread([this] { ReaperLoop(); });

  const HttpLimits& limits = options_.limits;
  unsigned timeout_seconds =
      static_cast<unsigned>(std::max<int64_t>(1, (limits.idle_timeout.count() + 999) / 1000));
  // libmicrohttpd splits the connection limit between the threads: each needs one at least.
  unsigned threads = std::min(kLoopThreads, limits.max_connections);
  for (int fd : listen_fds_) {
    for (unsigned loop = 0; loop < threads; ++loop) {
      // libmicrohttpd split the limit between a pool's threads the same way.
      unsigned limit =
          limits.max_connections / threads + (loop < limits.max_connections % threads ? 1u : 0u);
      int own = fcntl(fd, F_DUPFD_CLOEXEC, 3);
      if (own < 0)
        return "cannot duplicate the listen socket: " + std::string(std::strerror(errno));
      std::vector<MHD_OptionItem> items = {
          {MHD_OPTION_LISTEN_SOCKET, own, nullptr},
          {MHD_OPTION_CONNECTION_LIMIT, limit, nullptr},
          {MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<intptr_t>(limits.max_header_bytes),
           nullptr},
          {MHD_OPTION_CONNECTION_TIMEOUT, timeout_seconds, nullptr},
          {MHD_OPTION_NOTIFY_CONNECTION, reinterpret_cast<intptr_t>(&HttpServer::OnConnection),
           this},
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
        return "cannot start the HTTP server on port " + std::to_string(LocalPort(fd)) +
               " (libmicrohttpd refused the options; see debug log)";
      }
      // The daemon owns `own` from here and closes it on stop.
      daemons_.push_back(daemon);
    }
  }
  return "";
}

void HttpServer::Stop() {
  if (!reaper_.joinable()) return;  // never started, or stopped already
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
  {
    std::lock_guard lock(connections_mutex_);
    reaper_stop_ = true;
  }
  reaper_cv_.notify_all();
  reaper_.join();
}

MHD_Result HttpServer::OnAccept(void* cls, const sockaddr* address, socklen_t) {
  auto* server = static_cast<HttpServer*>(cls);
  if (!server->accepting_) return MHD_NO;
  // Counted here, right after accept() and before anything else, as libmicrohttpd counted it:
  // counting later (when the connection starts) let another loop's newer connection from the
  // same client take the slot first. MHD_NO: libmicrohttpd closes it at once, unanswered.
  const unsigned limit = server->options_.limits.max_connections_per_ip;
  std::string client = limit > 0 ? ClientKey(address) : "";
  if (client.empty()) return MHD_YES;
  std::lock_guard lock(server->connections_mutex_);
  unsigned& count = server->per_client_[client];
  if (count >= limit) return MHD_NO;
  // Uncounted when the connection closes (NOTIFY_CLOSED). Should libmicrohttpd fail to set the
  // connection up after this (out of memory), its slot stays taken.
  ++count;
  return MHD_YES;
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
    // OnAccept counted it under this key.
    const MHD_ConnectionInfo* address =
        MHD_get_connection_info(mhd, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    std::string client = server->options_.limits.max_connections_per_ip > 0 && address
                             ? ClientKey(address->client_addr)
                             : "";
    std::lock_guard lock(server->connections_mutex_);
    Connection& connection = server->connections_.emplace_back();
    connection.client = std::move(client);
    connection.self = std::prev(server->connections_.end());
    connection.server = server;
    connection.mhd = mhd;
    connection.fd = fd;
    connection.deadline = SteadyClock::now() + server->options_.limits.read_header_timeout;
    *socket_context = &connection;
    server->reaper_cv_.notify_one();
  } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context != nullptr) {
    // libmicrohttpd calls this before it closes the socket, so the reaper never shuts down a
    // descriptor that was reused.
    auto* connection = static_cast<Connection*>(*socket_context);
    std::lock_guard lock(server->connections_mutex_);
    if (!connection->client.empty()) {
      auto counted = server->per_client_.find(connection->client);
      if (counted != server->per_client_.end() && --counted->second == 0) {
        server->per_client_.erase(counted);
      }
    }
    server->connections_.erase(connection->self);
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
  {
    // The next request on a kept-alive connection: the idle timeout and then a head deadline.
    std::lock_guard lock(server->connections_mutex_);
    connection->head_pending = true;
    connection->deadline = SteadyClock::now() + server->options_.limits.idle_timeout +
                           server->options_.limits.read_header_timeout;
  }
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
  {
    std::lock_guard lock(connections_mutex_);
    connection->head_pending = false;
  }
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
    Scratch& scratch = ThreadScratch();
    auto body = Buffers().Take();
    bool gzip = scratch.gzip.ready() && AcceptsGzip(request.Header("Accept-Encoding"));
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
    finish(response, MHD_HTTP_OK, kExpositionType);
  } else if (path == "/") {
    finish(CopiedResponse(RenderLanding()), MHD_HTTP_OK, "text/html; charset=utf-8");
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

HttpRequest HttpServer::Request(const Connection& connection) const {
  return {connection.method,
          connection.path,
          {connection.headers.data(), connection.header_count},
          connection.mhd};
}

void HttpServer::ReaperLoop() {
  std::unique_lock lock(connections_mutex_);
  while (!reaper_stop_) {
    auto now = SteadyClock::now();
    auto next = SteadyClock::time_point::max();
    for (Connection& connection : connections_) {
      if (!connection.head_pending) continue;
      if (connection.deadline <= now) {
        // A head that never completes (slowloris, a trickle of bytes): close the connection.
        // shutdown() wakes the event loop, which then closes and forgets it.
        shutdown(connection.fd, SHUT_RDWR);
        connection.head_pending = false;
      } else {
        next = std::min(next, connection.deadline);
      }
    }
    // Deadlines are kept to within 100 ms; a wake-up per connection would cost more.
    if (next == SteadyClock::time_point::max()) {
      reaper_cv_.wait(lock);
    } else {
      reaper_cv_.wait_until(lock, std::max(next, now + std::chrono::milliseconds(100)));
    }
  }
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

}  // namespace nfct
