// --web.config.file end to end: the real HTTP server on loopback with TLS, client certificates,
// basic auth and headers from a web config file, scraped by cpp-httplib; stalled handshakes do
// not delay a scrape; systemd-passed sockets are served; and the exporter binary refuses to
// start on each kind of broken file with one log line naming it.
#include <arpa/inet.h>
#include <crypt.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "exporter/http/http_server.h"
#include "exporter/web/systemd_socket.h"
#include "exporter/web/web_security.h"
#include "tests/exporter/tls_test_support.h"
#include "tests/support/test_support.h"

namespace nfct::testing {
namespace {

std::string BcryptHash(const std::string& password, int cost = 4) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  crypt_gensalt_rn("$2b$", cost, nullptr, 0, setting, sizeof(setting));
  crypt_data data{};
  std::string hash = crypt_rn(password.c_str(), setting, &data, sizeof(data));
  return "$2y$" + hash.substr(4);  // htpasswd's prefix
}

const std::string kTls = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";

class WebServerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(certs_->ok()) << "make_test_certs.sh failed"; }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  // Starts the server with the web config `yaml` (written next to the certificates).
  void Start(const std::string& yaml, const std::vector<int>& adopt_fds = {}) {
    auto loaded = WebSecurity::Load(certs_->WriteConfig("web.yml", yaml));
    ASSERT_EQ(loaded.error, "");
    security_ = std::move(loaded.security);
    set_ = FixtureSet("healthy");
    server_ = std::make_unique<HttpServer>(HttpOptions{}, *set_,
                                           std::vector<CollectorListing>{{"sysctl", true, "x"}},
                                           security_->Hooks());
    if (adopt_fds.empty()) {
      ASSERT_EQ(server_->Listen({"127.0.0.1:0"}), "");
    } else {
      for (int fd : adopt_fds) ASSERT_EQ(server_->AdoptListenSocket(fd, "systemd"), "");
    }
    ASSERT_EQ(server_->Start(), "");
    server_->SetReady(true);
    port_ = server_->ports().at(0);
  }
  httplib::Result Get(const ClientOptions& options = {}, const httplib::Headers& headers = {}) {
    return TlsClient(*certs_, port_, options)->Get("/metrics", headers);
  }

  const TestCerts* certs_ = &SharedTestCerts();
  std::unique_ptr<WebSecurity> security_;
  std::unique_ptr<CollectorSet> set_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

TEST_F(WebServerTest, ServesMetricsOverTls) {
  Start(kTls);
  auto result = Get();
  ASSERT_TRUE(result) << httplib::to_string(result.error());
  EXPECT_EQ(result->status, 200);
  EXPECT_NE(result->body.find("nf_conntrack_entries 1234\n"), std::string::npos);
  // Plain HTTP on the TLS port is not served.
  httplib::Client plain("127.0.0.1", port_);
  plain.set_read_timeout(2);
  auto answer = plain.Get("/metrics");
  EXPECT_TRUE(!answer || answer->status == 400) << answer->status;
}

TEST_F(WebServerTest, TlsBelowTheMinimumIsRefused) {
  Start(kTls + "  min_version: TLS13\n");
  EXPECT_FALSE(Get({.max_version = TLS1_2_VERSION}));
  EXPECT_TRUE(Get());
}

TEST_F(WebServerTest, MutualTls) {
  Start(kTls + "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n");
  auto good = Get({.cert = "client.crt", .key = "client.key"});
  ASSERT_TRUE(good) << httplib::to_string(good.error());
  EXPECT_EQ(good->status, 200);
  EXPECT_FALSE(Get());                                           // no certificate
  EXPECT_FALSE(Get({.cert = "rogue.crt", .key = "rogue.key"}));  // not from the client CA
  EXPECT_FALSE(Get({.max_version = TLS1_2_VERSION}));
}

TEST_F(WebServerTest, BasicAuthOverTls) {
  Start(kTls + "basic_auth_users:\n  alice: " + BcryptHash("alice-password") + "\n");
  auto missing = Get();
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 401);
  EXPECT_EQ(missing->get_header_value("WWW-Authenticate"), BasicAuth::kChallenge);
  EXPECT_EQ(missing->body.find("nf_conntrack"), std::string::npos);
  auto client = TlsClient(*certs_, port_);
  client->set_basic_auth("alice", "wrong");
  auto wrong = client->Get("/metrics");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(wrong->get_header_value("WWW-Authenticate"), BasicAuth::kChallenge);
  client->set_basic_auth("mallory", "alice-password");
  EXPECT_EQ(client->Get("/metrics")->status, 401);
  client->set_basic_auth("alice", "alice-password");
  auto right = client->Get("/metrics");
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 200);
  EXPECT_NE(right->body.find("nf_conntrack_entries 1234\n"), std::string::npos);
  // Every path is behind it, the landing page and health included.
  auto health = TlsClient(*certs_, port_)->Get("/-/healthy");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 401);
}

TEST_F(WebServerTest, BasicAuthWithoutTls) {
  Start("basic_auth_users:\n  alice: " + BcryptHash("alice-password") + "\n");
  httplib::Client client("127.0.0.1", port_);
  EXPECT_EQ(client.Get("/metrics")->status, 401);
  client.set_basic_auth("alice", "alice-password");
  EXPECT_EQ(client.Get("/metrics")->status, 200);
}

TEST_F(WebServerTest, RandomPasswordsDoNotDelayARememberedOne) {
  // bcrypt at cost 11 (a few hundred milliseconds) for every new password hostile clients send:
  // it runs off the event loop, so a scraper whose password is remembered is answered from the
  // cache meanwhile, never after a bcrypt.
  Start("basic_auth_users:\n  alice: " + BcryptHash("alice-password", 11) + "\n");
  httplib::Client alice("127.0.0.1", port_);
  alice.set_keep_alive(true);
  alice.set_basic_auth("alice", "alice-password");
  auto begin = std::chrono::steady_clock::now();
  ASSERT_EQ(alice.Get("/metrics")->status, 200);  // verified once: one bcrypt
  double bcrypt_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  std::atomic<bool> stop{false};
  std::atomic<int> refused{0};
  std::vector<std::thread> hostile;
  for (int t = 0; t < 8; ++t) {
    hostile.emplace_back([&, t] {
      httplib::Client mallory("127.0.0.1", port_);
      mallory.set_keep_alive(true);
      for (int i = 0; !stop; ++i) {
        mallory.set_basic_auth("alice", "guess-" + std::to_string(t) + "-" + std::to_string(i));
        auto answer = mallory.Get("/metrics");
        if (answer && (answer->status == 401 || answer->status == 429)) ++refused;
      }
    });
  }
  // Two seconds of scrapes: the bcrypt budget's burst and its refill both pass meanwhile.
  double slowest = 0;
  int scrapes = 0;
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
       std::chrono::steady_clock::now() < until; ++scrapes) {
    auto start = std::chrono::steady_clock::now();
    auto answer = alice.Get("/metrics");
    slowest = std::max(
        slowest, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop = true;
  for (auto& thread : hostile) thread.join();
  EXPECT_GT(refused, 8);
  EXPECT_LT(slowest, bcrypt_seconds / 2)
      << "slowest of " << scrapes << " scrapes with a remembered password; one bcrypt took "
      << bcrypt_seconds << " s";
}

TEST_F(WebServerTest, HeadersOnEveryAnswer) {
  Start(kTls +
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
        "    Strict-Transport-Security: max-age=31536000\n"
        "basic_auth_users:\n  alice: " +
        BcryptHash("alice-password") + "\n");
  auto refused = Get();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(refused->get_header_value("X-Frame-Options"), "deny");
  auto client = TlsClient(*certs_, port_);
  client->set_basic_auth("alice", "alice-password");
  for (const char* path : {"/metrics", "/", "/nowhere"}) {
    auto answer = client->Get(path);
    ASSERT_TRUE(answer) << path;
    EXPECT_EQ(answer->get_header_value("X-Frame-Options"), "deny") << path;
    EXPECT_EQ(answer->get_header_value("Strict-Transport-Security"), "max-age=31536000") << path;
  }
}

TEST_F(WebServerTest, RateLimit) {
  Start("rate_limit:\n  interval: 1h\n  burst: 2\n");
  httplib::Client client("127.0.0.1", port_);
  EXPECT_EQ(client.Get("/metrics")->status, 200);
  EXPECT_EQ(client.Get("/metrics")->status, 200);
  EXPECT_EQ(client.Get("/metrics")->status, 429);
}

// A TCP connection from `source` (a loopback address) to the server, optionally sending bytes.
int Connect(const char* source, int port, std::string_view send_bytes) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  inet_pton(AF_INET, source, &from.sin_addr);
  bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
    close(fd);
    return -1;
  }
  if (!send_bytes.empty()) (void)!write(fd, send_bytes.data(), send_bytes.size());
  return fd;
}

TEST_F(WebServerTest, StalledHandshakesDoNotDelayAScrape) {
  Start(kTls);
  // Clients that connect and never start the handshake, and clients that send the first bytes
  // of a ClientHello and stop; from other loopback addresses, so the per-IP limit is not what
  // protects the scrape.
  const std::string partial_hello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  std::vector<int> fds;
  for (int i = 0; i < 60; ++i) {
    int idle = Connect("127.0.0.2", port_, "");
    int partial = Connect("127.0.0.3", port_, partial_hello);
    if (idle >= 0) fds.push_back(idle);
    if (partial >= 0) fds.push_back(partial);
  }
  EXPECT_GE(fds.size(), 100u);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto start = std::chrono::steady_clock::now();
  auto result = Get();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(result) << httplib::to_string(result.error());
  EXPECT_EQ(result->status, 200);
  EXPECT_LT(seconds, 1.0);
  for (int fd : fds) close(fd);
}

TEST_F(WebServerTest, ServesTheSocketSystemdPasses) {
  // The socket systemd would pass as fd 3, with LISTEN_PID/LISTEN_FDS for this process.
  int saved = fcntl(3, F_DUPFD_CLOEXEC, 10);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 16), 0);
  if (fd != 3) {
    dup2(fd, 3);
    close(fd);
  }
  setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
  setenv("LISTEN_FDS", "1", 1);
  auto sockets = TakeSystemdSockets();
  ASSERT_EQ(sockets.error, "");
  Start(kTls, sockets.fds);  // the server owns fd 3 from here and closes it on Stop
  auto result = Get();
  ASSERT_TRUE(result) << httplib::to_string(result.error());
  EXPECT_EQ(result->status, 200);
  server_->Stop();
  server_.reset();
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  if (saved >= 0) {
    dup2(saved, 3);
    close(saved);
  }
}

// Runs the exporter binary; returns its exit status and what it wrote to stderr.
std::pair<int, std::string> RunExporter(const std::vector<std::string>& args) {
  char path[] = "/tmp/nfct-web-stderr-XXXXXX";
  int err = mkstemp(path);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(err, 2);
    std::vector<char*> argv = {const_cast<char*>(NFCT_EXPORTER_PATH)};
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    execv(NFCT_EXPORTER_PATH, argv.data());
    _exit(127);
  }
  // A config that is not refused would serve forever: stop it after a while.
  int status = 0;
  for (int i = 0; i < 100 && waitpid(pid, &status, WNOHANG) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (waitpid(pid, &status, WNOHANG) == 0) {
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
  }
  close(err);
  std::string text = ReadText(path);
  unlink(path);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text};
}

TEST_F(WebServerTest, BrokenConfigRefusesToStart) {
  std::filesystem::create_directories(certs_->Path("a-directory"));
  const std::vector<std::pair<std::string, std::string>> kCases = {
      {"tls_server_config:\n  cert_file: [server.crt\n", "end of sequence flow not found"},
      {"tls_server_config:\n  cert_filse: server.crt\n", "cert_filse"},
      {"tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n",
       "cert_file " + certs_->Path("missing.crt") + ": No such file or directory"},
      {"tls_server_config:\n  cert_file: a-directory\n  key_file: server.key\n",
       "cert_file " + certs_->Path("a-directory") + ": Is a directory"},
      {"tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n",
       "cannot load the certificate and key"},
      {"basic_auth_users:\n  alice: plain-text\n", "is not a bcrypt hash"},
  };
  for (const auto& [yaml, problem] : kCases) {
    std::string file = certs_->WriteConfig("broken.yml", yaml);
    auto [status, stderr_text] =
        RunExporter({"--web.config.file=" + file, "--web.listen-address=127.0.0.1:0",
                     "--collector.disable-defaults"});
    EXPECT_EQ(status, 1) << yaml << stderr_text;
    // One line, naming the file and the problem.
    EXPECT_EQ(std::count(stderr_text.begin(), stderr_text.end(), '\n'), 1) << stderr_text;
    EXPECT_NE(stderr_text.find(file), std::string::npos) << stderr_text;
    EXPECT_NE(stderr_text.find(problem), std::string::npos) << problem << " in " << stderr_text;
  }
  auto [status, text] = RunExporter(
      {"--web.config.file=" + certs_->Path("nothing.yml"), "--web.listen-address=127.0.0.1:0"});
  EXPECT_EQ(status, 1);
  EXPECT_NE(text.find("nothing.yml: cannot read: No such file or directory"), std::string::npos)
      << text;
}

}  // namespace
}  // namespace nfct::testing
