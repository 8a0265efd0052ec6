// HTTP behaviour of the real server in-process on port 0 over loopback: content types, gzip,
// 404/405, health and readiness, keep-alive, concurrent scrapes, the request limit, hostile
// clients (slowloris, trickle, idle, per-IP and total limits, garbage), graceful shutdown, and an
// inherited (systemd) listen socket that outlives the server.
#include "exporter/http/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <thread>

#include "exporter/http/gzip.h"
#include "exporter/http/listen.h"
#include "tests/support/test_support.h"

namespace nfct::testing {
namespace {

// A collector that takes its time, to hold a scrape in flight.
class SlowCollector : public Collector {
 public:
  explicit SlowCollector(std::chrono::milliseconds delay) : delay_(delay) {}
  const std::vector<FamilyDesc>& Families() const override {
    static const std::vector<FamilyDesc> kNone;
    return kNone;
  }
  Status Collect(MetricSink&) override {
    std::this_thread::sleep_for(delay_);
    return Status::Ok();
  }

 private:
  std::chrono::milliseconds delay_;
};

std::unique_ptr<CollectorSet> SlowSet(std::chrono::milliseconds delay) {
  std::vector<CollectorSet::Named> collectors;
  collectors.push_back({"slow", std::make_unique<SlowCollector>(delay)});
  return std::make_unique<CollectorSet>(std::move(collectors), Clock{}, false);
}

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(const CollectorSet& set, HttpOptions options = {"/metrics", 40, {}},
                   HttpHooks hooks = {}) {
    server_ = std::make_unique<HttpServer>(
        options, set,
        std::vector<CollectorListing>{{"sysctl", true, "reads sysctls"},
                                      {"stat", true, "reads stats"},
                                      {"table", false, "dumps <the> table"}},
        std::move(hooks));
    ASSERT_EQ(server_->Listen({"127.0.0.1:0"}), "");
    ASSERT_EQ(server_->Start(), "");
    port_ = server_->ports().at(0);
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }
  httplib::Client Client() { return httplib::Client("127.0.0.1", port_); }

  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

TEST_F(HttpServerTest, ServesGzipWhenAsked) {
  auto set = FixtureSet("healthy");
  StartServer(*set);
  auto client = Client();
  auto plain = client.Get("/metrics");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->get_header_value("Content-Encoding"), "");
  client.set_decompress(true);
  auto gzip = client.Get("/metrics", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(gzip);
  EXPECT_EQ(gzip->get_header_value("Content-Encoding"), "gzip");
  EXPECT_EQ(gzip->body, plain->body);  // decompressed by the client
  EXPECT_NE(plain->body.find("nf_conntrack_entries 1234\n"), std::string::npos);
}

TEST_F(HttpServerTest, UnknownPathsAre404AndOtherMethods405) {
  auto set = FixtureSet("healthy");
  StartServer(*set);
  auto client = Client();
  EXPECT_EQ(client.Get("/nope")->status, 404);
  EXPECT_EQ(client.Get("/metrics/extra")->status, 404);
  auto post = client.Post("/metrics", "x", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->get_header_value("Allow"), "GET, HEAD");
  EXPECT_EQ(client.Delete("/")->status, 405);
  EXPECT_EQ(client.Head("/metrics")->status, 200);
}

TEST_F(HttpServerTest, LandingHealthAndReadiness) {
  auto set = FixtureSet("no_module");
  StartServer(*set);
  auto client = Client();
  EXPECT_EQ(client.Get("/-/healthy")->status, 200);
  EXPECT_EQ(client.Get("/-/ready")->status, 503);
  server_->SetReady(true);
  EXPECT_EQ(client.Get("/-/ready")->status, 200);
  client.Get("/metrics");
  auto landing = client.Get("/");
  ASSERT_TRUE(landing);
  EXPECT_EQ(landing->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(landing->body.find("<a href=\"/metrics\">"), std::string::npos);
  EXPECT_NE(landing->body.find("unavailable"), std::string::npos);
  EXPECT_NE(landing->body.find("nf_conntrack is not loaded"), std::string::npos);
  EXPECT_NE(landing->body.find("dumps &lt;the&gt; table"), std::string::npos);  // escaped
}

TEST_F(HttpServerTest, ConcurrentScrapesAllSucceedAndAgree) {
  auto set = FixtureSet("healthy");
  StartServer(*set);
  std::string expected = Client().Get("/metrics")->body;
  std::vector<std::future<int>> workers;
  for (int t = 0; t < 8; ++t) {
    workers.push_back(std::async(std::launch::async, [&] {
      auto client = Client();
      int good = 0;
      for (int i = 0; i < 25; ++i) {
        auto response = client.Get("/metrics");
        if (response && response->status == 200 && response->body == expected) ++good;
      }
      return good;
    }));
  }
  for (auto& worker : workers) EXPECT_EQ(worker.get(), 25);
}

TEST_F(HttpServerTest, RequestsOverTheLimitGet503) {
  auto set = SlowSet(std::chrono::milliseconds(500));
  StartServer(*set, {"/metrics", 1, {}});
  auto first = std::async(std::launch::async, [&] { return Client().Get("/metrics")->status; });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_EQ(Client().Get("/metrics")->status, 503);
  EXPECT_EQ(first.get(), 200);
}

TEST_F(HttpServerTest, StopFinishesTheScrapeInFlight) {
  auto set = SlowSet(std::chrono::milliseconds(400));
  StartServer(*set);
  auto in_flight = std::async(std::launch::async, [&] {
    auto response = Client().Get("/metrics");
    return response ? response->status : -1;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server_->Stop();
  EXPECT_EQ(in_flight.get(), 200);
  auto after = Client().Get("/metrics");
  EXPECT_FALSE(after) << "still accepting after Stop()";
}

// A TCP connection to 127.0.0.1:port from `source` (any 127.0.0.0/8 address); -1 on failure.
int Connect(int port, const char* source = "127.0.0.1") {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, source, &local.sin_addr);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return -1;
  }
  timeval timeout{10, 0};  // no test waits on a socket for longer
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return fd;
}

void SendText(int fd, std::string_view text) { send(fd, text.data(), text.size(), MSG_NOSIGNAL); }

// Reads until the peer closes (or the 10 s receive timeout); returns what arrived.
std::string ReadToClose(int fd) {
  std::string reply;
  char buffer[4096];
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof buffer, 0)) > 0) reply.append(buffer, n);
  return reply;
}

// Sends a health check on a kept-alive connection and reads its status line: once it arrives,
// the server has accepted the connection (two loops accept from one socket in any order).
std::string HealthOnKeptAlive(int fd) {
  SendText(fd, "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string reply;
  char buffer[4096];
  ssize_t n;
  while (reply.find("\r\n") == std::string::npos && (n = recv(fd, buffer, sizeof buffer, 0)) > 0) {
    reply.append(buffer, n);
  }
  return reply.substr(0, reply.find("\r\n"));
}

// Sends raw bytes on a new connection and returns the status line of the answer ("" when the
// server closed without one).
std::string RawExchange(int port, const std::string& bytes) {
  int fd = Connect(port);
  if (fd < 0) return "no connection";
  send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string reply;
  char buffer[4096];
  ssize_t n;
  while (reply.find("\r\n") == std::string::npos && (n = recv(fd, buffer, sizeof buffer, 0)) > 0) {
    reply.append(buffer, n);
  }
  close(fd);
  return reply.substr(0, reply.find("\r\n"));
}

// "HTTP/1.1 4xx ..." or a close without an answer: what a hostile request may get.
bool RefusedOrClosed(const std::string& status_line) {
  return status_line.empty() || status_line.starts_with("HTTP/1.1 4") ||
         status_line.starts_with("HTTP/1.0 4") || status_line.starts_with("HTTP/1.1 505");
}

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

void ExpectServes(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(5, 0);
  auto begin = std::chrono::steady_clock::now();
  auto response = client.Get("/metrics");
  double took = Seconds(std::chrono::steady_clock::now() - begin);
  ASSERT_TRUE(response) << "no answer to a normal scrape";
  EXPECT_EQ(response->status, 200);
  EXPECT_NE(response->body.find("nf_conntrack_entries 1234"), std::string::npos);
  EXPECT_LT(took, 0.5) << "a normal scrape took " << took << " s";
}

TEST_F(HttpServerTest, ChecksThatMayBlockRunOffTheEventLoop) {
  // A check that has to block (bcrypt does, ~55 ms) for requests with X-Slow: while it blocks
  // for four of them, scrapes on another connection are answered at once.
  auto set = FixtureSet("healthy");
  std::atomic<int> blocking_calls{0};
  HttpHooks hooks;
  hooks.check = [&](const HttpRequest& request, bool may_block) {
    using Verdict = HttpCheckResult::Verdict;
    if (request.Header("X-Slow").empty()) return HttpCheckResult{};
    if (!may_block) return HttpCheckResult{Verdict::kWouldBlock, {}};
    ++blocking_calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    return HttpCheckResult{Verdict::kReply, {401, "No.\n"}};
  };
  StartServer(*set, {"/metrics", 2, {}}, std::move(hooks));
  std::vector<std::future<int>> slow;
  for (int i = 0; i < 4; ++i) {
    slow.push_back(std::async(std::launch::async, [&] {
      auto response = Client().Get("/metrics", {{"X-Slow", "1"}});
      return response ? response->status : -1;
    }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto client = Client();
  client.set_keep_alive(true);
  double slowest = 0;
  for (int i = 0; i < 10; ++i) {
    auto begin = std::chrono::steady_clock::now();
    auto response = client.Get("/metrics");
    slowest = std::max(slowest, Seconds(std::chrono::steady_clock::now() - begin));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);  // the refused ones hold no --web.max-requests slot
  }
  EXPECT_LT(slowest, 0.2) << "a scrape waited for another request's check";
  for (auto& status : slow) EXPECT_EQ(status.get(), 401);
  EXPECT_EQ(blocking_calls, 4);
  // Once refused, they hold no slot either: two scrapes at once still fit the limit of 2.
  auto other = std::async(std::launch::async, [&] { return Client().Get("/metrics")->status; });
  EXPECT_EQ(client.Get("/metrics")->status, 200);
  EXPECT_EQ(other.get(), 200);
}

TEST_F(HttpServerTest, HostileRequestsGetAnErrorAndServingGoesOn) {
  auto set = FixtureSet("healthy");
  HttpOptions options;
  options.limits.read_header_timeout = std::chrono::seconds(1);
  StartServer(*set, options);
  std::vector<std::string> hostile = {
      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", 22),  // TLS
      std::string("\0\xff\xfe\r\n\r\n", 7),  // binary garbage
      "GET /metrics HTTP/1.1\r\nHost: x\r\nX: " + std::string(100000, 'a') + "\r\n\r\n",
      "GET /" + std::string(100000, 'p') + " HTTP/1.1\r\nHost: x\r\n\r\n",  // a huge path
      "GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n",                           // a bad version
      "GET /metrics\r\n\r\n",                                               // HTTP/0.9
      "GET metrics HTTP/1.1\r\nHost: x\r\n\r\n",                            // no leading slash
      "BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n",                          // a made-up method
      "DELETE /nope HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
      "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" +
          std::string(1000000, 'b'),
  };
  for (const auto& request : hostile) {
    auto begin = std::chrono::steady_clock::now();
    std::string status = RawExchange(port_, request);
    // What cannot be parsed as a head waits for the head deadline at most.
    EXPECT_LT(Seconds(std::chrono::steady_clock::now() - begin), 3.0) << request.substr(0, 40);
    EXPECT_TRUE(RefusedOrClosed(status))
        << "request " << request.substr(0, 40) << " got \"" << status << "\"";
  }
  EXPECT_EQ(RawExchange(port_, "BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            "HTTP/1.1 405 Method Not Allowed");
  EXPECT_EQ(RawExchange(port_, "GET /metrics HTTP/1.1\r\nHost: x\r\nX: " +
                                   std::string(100000, 'a') + "\r\n\r\n"),
            "HTTP/1.1 431 Request Header Fields Too Large");
  EXPECT_EQ(RawExchange(port_,
                        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000"
                        "\r\n\r\n"),
            "HTTP/1.1 413 Content Too Large");
  ExpectServes(port_);
}

TEST_F(HttpServerTest, KeptAliveScrapesAreFastAndFreshOnesToo) {
  auto set = FixtureSet("healthy");
  StartServer(*set);
  httplib::Client client("127.0.0.1", port_);
  client.set_keep_alive(true);
  std::vector<double> kept;
  for (int i = 0; i < 20; ++i) {
    auto begin = std::chrono::steady_clock::now();
    auto response = client.Get("/metrics");
    kept.push_back(Seconds(std::chrono::steady_clock::now() - begin));
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, 200);
    EXPECT_EQ(response->get_header_value("Connection"), "");  // not "close"
  }
  std::sort(kept.begin(), kept.end());
  // Nagle with delayed ACK made every kept-alive scrape wait for the peer's delayed ACK, which
  // Linux sends after at least 40 ms; loopback without it is well under 1 ms. The bound sits
  // below 40 ms rather than near 1 ms because a loaded CI machine under ASan measured a 12 ms
  // median: it still tells the two apart.
  EXPECT_LT(kept[kept.size() / 2], 0.035) << "median kept-alive scrape";
  for (int i = 0; i < 20; ++i) {
    auto response = Client().Get("/metrics");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
  }
}

TEST_F(HttpServerTest, PartialAndTricklingHeadsAreClosedAtTheDeadline) {
  auto set = FixtureSet("healthy");
  HttpOptions options;
  options.limits.read_header_timeout = std::chrono::milliseconds(500);
  // The default idle timeout (6 min, longer than Prometheus's): the head deadline alone cuts them.
  StartServer(*set, options);
  // Half a head, then silence.
  int partial = Connect(port_);
  ASSERT_GE(partial, 0);
  std::string half = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
  send(partial, half.data(), half.size(), MSG_NOSIGNAL);
  // A byte every 100 ms: never idle, never complete.
  int trickle = Connect(port_);
  ASSERT_GE(trickle, 0);
  auto begin = std::chrono::steady_clock::now();
  std::atomic<bool> closed{false};
  std::thread trickler([&] {
    std::string head = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(200, 'z');
    for (char c : head) {
      if (send(trickle, &c, 1, MSG_NOSIGNAL) != 1) break;
      if (closed) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  ExpectServes(port_);  // meanwhile, scrapes go on
  EXPECT_EQ(ReadToClose(partial), "");
  double partial_closed = Seconds(std::chrono::steady_clock::now() - begin);
  EXPECT_EQ(ReadToClose(trickle), "");
  double trickle_closed = Seconds(std::chrono::steady_clock::now() - begin);
  closed = true;
  trickler.join();
  close(partial);
  close(trickle);
  EXPECT_LT(partial_closed, 2.0);
  EXPECT_GT(trickle_closed, 0.3);
  EXPECT_LT(trickle_closed, 2.0) << "a trickling head was not cut at the deadline";
  ExpectServes(port_);
}

TEST_F(HttpServerTest, ManyIdleConnectionsDoNotDelayAScrape) {
  auto set = FixtureSet("healthy");
  HttpOptions options;
  options.limits.max_connections_per_ip = 0;
  StartServer(*set, options);
  std::vector<int> idle;
  for (int i = 0; i < 300; ++i) {
    int fd = Connect(port_);
    ASSERT_GE(fd, 0);
    idle.push_back(fd);
  }
  // And as many that sent half a request.
  for (int i = 0; i < 300; ++i) {
    int fd = Connect(port_);
    ASSERT_GE(fd, 0);
    SendText(fd, "GET /metr");
    idle.push_back(fd);
  }
  for (int i = 0; i < 5; ++i) ExpectServes(port_);
  for (int fd : idle) close(fd);
}

TEST_F(HttpServerTest, PerAddressAndTotalConnectionLimits) {
  auto set = FixtureSet("healthy");
  HttpOptions options;
  options.limits.max_connections_per_ip = 3;
  options.limits.max_connections = 6;
  StartServer(*set, options);
  std::vector<int> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(Connect(port_, "127.0.0.2"));
    ASSERT_EQ(HealthOnKeptAlive(held.back()), "HTTP/1.1 200 OK");
  }
  // The fourth from the same address is accepted and closed at once, without an answer.
  int over = Connect(port_, "127.0.0.2");
  ASSERT_GE(over, 0);
  SendText(over, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(ReadToClose(over), "");
  close(over);
  // Another address still gets through.
  ExpectServes(port_);
  // Up to the total: 3 more from a third address; the next waits in the listen backlog,
  // holding no descriptor of ours, until a slot frees.
  for (int i = 0; i < 3; ++i) held.push_back(Connect(port_, "127.0.0.3"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  int waiting = Connect(port_, "127.0.0.4");
  ASSERT_GE(waiting, 0);
  SendText(waiting, "GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  pollfd poll_fd{waiting, POLLIN, 0};
  EXPECT_EQ(poll(&poll_fd, 1, 500), 0) << "answered over the total connection limit";
  for (int fd : held) close(fd);
  EXPECT_TRUE(ReadToClose(waiting).starts_with("HTTP/1.1 200 OK"));
  close(waiting);
  ExpectServes(port_);
}

TEST_F(HttpServerTest, GzipOnlyWhenAskedAndNeverBrotli) {
  auto set = FixtureSet("healthy");
  StartServer(*set);
  auto client = Client();
  client.set_decompress(false);
  std::string plain = client.Get("/metrics")->body;
  for (const char* header :
       {"br", "gzip;q=0", "identity", "deflate, br", "*;q=0", "gzip; q=0.000"}) {
    auto response = client.Get("/metrics", {{"Accept-Encoding", header}});
    ASSERT_TRUE(response);
    EXPECT_EQ(response->get_header_value("Content-Encoding"), "") << header;
    EXPECT_EQ(response->body, plain) << header;
  }
  for (const char* header : {"gzip", "br, gzip;q=0.5", "*", "GZIP", "deflate, gzip, br"}) {
    auto response = client.Get("/metrics", {{"Accept-Encoding", header}});
    ASSERT_TRUE(response);
    EXPECT_EQ(response->get_header_value("Content-Encoding"), "gzip") << header;
    EXPECT_EQ(response->get_header_value("Vary"), "Accept-Encoding");
    EXPECT_LT(response->body.size(), plain.size() / 2) << header;
  }
}

TEST(AcceptsGzip, ReadsQualities) {
  for (const char* yes : {"gzip", "x-gzip", "gzip;q=1", "gzip;q=0.001", " gzip ,br", "*",
                          "br;q=1, *;q=0.1", "identity;q=0, gzip"}) {
    EXPECT_TRUE(AcceptsGzip(yes)) << yes;
  }
  for (const char* no : {"", "br", "identity", "gzip;q=0", "gzip;q=0.0", "gzip; q=0.000", "*;q=0",
                         "*, gzip;q=0", "gzipx", "deflate"}) {
    EXPECT_FALSE(AcceptsGzip(no)) << no;
  }
}

TEST(HttpServerListen, BusyPortIsAClearError) {
  auto set = FixtureSet("healthy");
  HttpServer first({"/metrics", 40, {}}, *set, {});
  ASSERT_EQ(first.Listen({"127.0.0.1:0"}), "");
  int port = first.ports().at(0);
  HttpServer second({"/metrics", 40, {}}, *set, {});
  std::string address = "127.0.0.1:" + std::to_string(port);
  EXPECT_EQ(second.Listen({address}), "cannot listen on " + address + ": Address already in use");
  EXPECT_EQ(second.Listen({"127.0.0.1:99999"}), "invalid listen address \"127.0.0.1:99999\"");
}

TEST(HttpServerListen, SeveralAddressesServeTheSame) {
  auto set = FixtureSet("healthy");
  HttpServer server({"/metrics", 40, {}}, *set, {});
  ASSERT_EQ(server.Listen({"127.0.0.1:0", "[::1]:0"}), "");
  ASSERT_EQ(server.Start(), "");
  ASSERT_EQ(server.ports().size(), 2u);
  httplib::Client v4("127.0.0.1", server.ports()[0]);
  httplib::Client v6("::1", server.ports()[1]);
  auto a = v4.Get("/metrics");
  auto b = v6.Get("/metrics");
  ASSERT_TRUE(a);
  if (!b) GTEST_SKIP() << "no IPv6 loopback here";
  EXPECT_EQ(a->body, b->body);
  server.Stop();
}

// What systemd's .socket unit needs: the server given an inherited socket closes its descriptors
// but never shuts the socket down, so systemd's copy keeps listening, a connection made while no
// server runs waits in the backlog, and the next server (a restart) answers it.
TEST(HttpServerLifecycle, InheritedSocketStillListensAfterStop) {
  auto set = FixtureSet("healthy");
  int systemd_copy = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(systemd_copy, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(systemd_copy, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(systemd_copy, 16), 0);
  socklen_t length = sizeof addr;
  ASSERT_EQ(getsockname(systemd_copy, reinterpret_cast<sockaddr*>(&addr), &length), 0);
  const int port = ntohs(addr.sin_port);
  auto listening = [&] {
    int value = 0;
    socklen_t size = sizeof value;
    getsockopt(systemd_copy, SOL_SOCKET, SO_ACCEPTCONN, &value, &size);
    return value == 1;
  };
  int waiting = -1;
  for (int run = 0; run < 3; ++run) {
    HttpServer server({"/metrics", 40, {}}, *set, {});
    ASSERT_EQ(server.AdoptListenSocket(fcntl(systemd_copy, F_DUPFD_CLOEXEC, 3), "inherited"), "");
    ASSERT_EQ(server.Start(), "");
    if (waiting >= 0) {
      // Made while no server ran: answered by this one, nothing lost across the restart.
      SendText(waiting, "GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      EXPECT_TRUE(ReadToClose(waiting).starts_with("HTTP/1.1 200 OK")) << "run " << run;
      close(waiting);
    }
    httplib::Client client("127.0.0.1", port);
    auto reply = client.Get("/metrics");
    ASSERT_TRUE(reply) << "run " << run;
    EXPECT_EQ(reply->status, 200);
    client.stop();
    server.Stop();
    EXPECT_TRUE(listening()) << "the inherited socket was shut down by Stop (run " << run << ")";
    waiting = Connect(port, "127.0.0.1");
    ASSERT_GE(waiting, 0) << "nothing listens on the inherited socket after Stop";
  }
  // The backlog still holds the last connection: systemd's copy accepts it.
  pollfd ready{systemd_copy, POLLIN, 0};
  EXPECT_EQ(poll(&ready, 1, 1000), 1);
  int accepted = accept4(systemd_copy, nullptr, nullptr, SOCK_CLOEXEC);
  EXPECT_GE(accepted, 0);
  if (accepted >= 0) close(accepted);
  close(waiting);
  close(systemd_copy);
}

TEST(HttpServerLifecycle, StopRightAfterStartNeverHangs) {
  // A SIGTERM just after start used to reach httplib's stop() before its listener ran.
  auto set = FixtureSet("healthy");
  auto done = std::async(std::launch::async, [&] {
    for (int i = 0; i < 200; ++i) {
      HttpServer server({"/metrics", 40, {}}, *set, {});
      if (!server.Listen({"127.0.0.1:0"}).empty()) return false;
      if (!server.Start().empty()) return false;
      server.Stop();
    }
    return true;
  });
  ASSERT_EQ(done.wait_for(std::chrono::seconds(60)), std::future_status::ready) << "Stop() hung";
  EXPECT_TRUE(done.get());
}

TEST(ParseListenAddress, AcceptsAndRejects) {
  EXPECT_EQ(ParseListenAddress(":9725")->host, "");
  EXPECT_EQ(ParseListenAddress(":9725")->port, 9725);
  EXPECT_EQ(ParseListenAddress("127.0.0.1:0")->host, "127.0.0.1");
  EXPECT_EQ(ParseListenAddress("[::1]:9725")->host, "::1");
  for (const char* bad : {"9725", ":", ":-1", ":65536", "::1:9725", "[::1]9725", "host:port", ""}) {
    EXPECT_FALSE(ParseListenAddress(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace nfct::testing
