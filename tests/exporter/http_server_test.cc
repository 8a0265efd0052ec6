// HTTP behaviour of the real server in-process on port 0: content types, gzip, 404/405,
// health and readiness, concurrent scrapes, the request limit and graceful shutdown.
#include "exporter/http_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>

#include "tests/exporter/test_support.h"

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
  std::vector<std::string> Sources() const override { return {}; }
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
  void StartServer(const CollectorSet& set, HttpOptions options = {"/metrics", 40}) {
    server_ = std::make_unique<HttpServer>(
        options, set,
        std::vector<CollectorListing>{{"sysctl", true, "reads sysctls"},
                                      {"stat", true, "reads stats"},
                                      {"table", false, "dumps <the> table"}});
    ASSERT_EQ(server_->Listen({"127.0.0.1:0"}), "");
    server_->Start();
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
  StartServer(*set, {"/metrics", 1});
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

// Sends raw bytes on a new connection and returns the status line of the answer.
std::string RawExchange(int port, const std::string& bytes) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return "";
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

TEST_F(HttpServerTest, HostileRequestsGetAnErrorAndServingGoesOn) {
  auto set = FixtureSet("healthy");
  StartServer(*set);
  // A TLS hello, a header of 100 kB, a body of 1 MB.
  EXPECT_EQ(RawExchange(port_, "\x16\x03\x01garbage\r\n\r\n"), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(RawExchange(port_, "GET /metrics HTTP/1.1\r\nHost: x\r\nX: " +
                                   std::string(100000, 'a') + "\r\n\r\n"),
            "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(RawExchange(port_,
                        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000"
                        "\r\n\r\n" +
                            std::string(1000000, 'b')),
            "HTTP/1.1 413 Payload Too Large");
  // Idle connections that never send a request do not block a scrape for long.
  std::vector<int> idle;
  for (int i = 0; i < 20; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port_));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    idle.push_back(fd);
  }
  auto client = Client();
  client.set_read_timeout(30, 0);
  auto response = client.Get("/metrics");
  for (int fd : idle) close(fd);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_NE(response->body.find("nf_conntrack_entries 1234"), std::string::npos);
}

TEST(HttpServerLifecycle, StopRightAfterStartNeverHangs) {
  // A SIGTERM just after start used to reach httplib's stop() before its listener ran.
  auto set = FixtureSet("healthy");
  auto done = std::async(std::launch::async, [&] {
    for (int i = 0; i < 200; ++i) {
      HttpServer server({"/metrics", 40}, *set, {});
      if (!server.Listen({"127.0.0.1:0"}).empty()) return false;
      server.Start();
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
