// TLS policy: versions, cipher suites and curves mapped to GnuTLS priority strings (and the lists
// GnuTLS cannot express refused); bad certificate material refused at start; and handshakes
// against a libmicrohttpd daemon started with the policy: versions, client certificate modes,
// allowed SANs.
#include "exporter/web/tls_policy.h"

#include <microhttpd.h>

#include "tests/exporter/tls_test_support.h"

namespace nfct::testing {
namespace {

TlsServerConfig Config(const std::string& yaml) {
  auto parsed = ParseWebConfig(yaml, "/base");
  EXPECT_EQ(parsed.error, "") << yaml;
  return parsed.config.tls;
}

const std::string kCert = "tls_server_config:\n  cert_file: c\n  key_file: k\n";

TEST(TlsPrioritiesTest, VersionsAndDefaults) {
  auto p = BuildTlsPriorities(Config(kCert));
  ASSERT_EQ(p.error, "");
  EXPECT_EQ(p.priorities,
            "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:"
            "%SERVER_PRECEDENCE");
  p = BuildTlsPriorities(
      Config(kCert + "  min_version: TLS13\n  prefer_server_cipher_suites: false\n"));
  EXPECT_EQ(p.priorities, "NORMAL:-VERS-ALL:+VERS-TLS1.3:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA");
  p = BuildTlsPriorities(Config(kCert + "  min_version: TLS10\n  max_version: TLS11\n"));
  EXPECT_NE(p.priorities.find("-VERS-ALL:+VERS-TLS1.1:+VERS-TLS1.0:"), std::string::npos)
      << p.priorities << p.error;
}

TEST(TlsPrioritiesTest, CurvesBecomeGroups) {
  auto p = BuildTlsPriorities(Config(kCert + "  curve_preferences: [X25519, CurveP384]\n"));
  ASSERT_EQ(p.error, "");
  EXPECT_NE(p.priorities.find(":-GROUP-ALL:+GROUP-X25519:+GROUP-SECP384R1"), std::string::npos)
      << p.priorities;
}

TEST(TlsPrioritiesTest, CipherSuitesThatGnuTlsCanEnableExactly) {
  // exporter-toolkit's "all ciphers" list, and a TLS 1.2-only pair.
  auto all = BuildTlsPriorities(Config(
      kCert +
      "  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "
      "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "
      "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "
      "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, TLS_AES_128_GCM_SHA256, "
      "TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256, "
      "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, "
      "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA]\n"));
  EXPECT_EQ(all.error, "");
  auto pair = BuildTlsPriorities(
      Config(kCert + "  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "
                     "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]\n  max_version: TLS12\n"));
  ASSERT_EQ(pair.error, "");
  EXPECT_EQ(pair.priorities,
            "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:-KX-ALL:"
            "+ECDHE-RSA:-MAC-ALL:+AEAD:%SERVER_PRECEDENCE");
}

TEST(TlsPrioritiesTest, ListsGnuTlsCannotExpressAreRefused) {
  // ECDHE-RSA with AES-128-GCM and ECDHE-ECDSA with AES-256-GCM: GnuTLS's product of ciphers
  // and key exchanges would also enable ECDHE-RSA with AES-256-GCM.
  auto p =
      BuildTlsPriorities(Config(kCert + "  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "
                                        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n"));
  EXPECT_NE(p.error.find("cannot enable this list without also enabling "
                         "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
            std::string::npos)
      << p.error;
  EXPECT_EQ(p.priorities, "");
  auto only13 = BuildTlsPriorities(Config(kCert + "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n"));
  EXPECT_NE(only13.error.find("only TLS 1.3 suites are listed"), std::string::npos);
  auto fine13 = BuildTlsPriorities(
      Config(kCert + "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n  min_version: TLS13\n"));
  EXPECT_EQ(fine13.error, "");
}

// A libmicrohttpd daemon with the policy, as the exporter's server starts it: the policy's MHD
// options and its per-connection setup. Answers every request with "ok".
class TlsDaemon {
 public:
  explicit TlsDaemon(const TlsPolicy& policy) : policy_(policy) {
    auto items = policy.MhdOptions();
    items.push_back({MHD_OPTION_END, 0, nullptr});
    daemon_ = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TLS | MHD_USE_ERROR_LOG, 0,
        nullptr, nullptr, &Answer, nullptr, MHD_OPTION_ARRAY, items.data(),
        MHD_OPTION_NOTIFY_CONNECTION, &Notify, this, MHD_OPTION_CONNECTION_TIMEOUT, 5u,
        MHD_OPTION_END);
    if (daemon_ != nullptr) port_ = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT)->port;
  }
  ~TlsDaemon() {
    if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
  }
  int port() const { return port_; }

 private:
  static MHD_Result Answer(void*, MHD_Connection* connection, const char*, const char*, const char*,
                           const char*, size_t*, void**) {
    static char kOk[] = "ok";
    MHD_Response* response = MHD_create_response_from_buffer(2, kOk, MHD_RESPMEM_PERSISTENT);
    MHD_Result result = MHD_queue_response(connection, MHD_HTTP_OK, response);
    MHD_destroy_response(response);
    return result;
  }
  static void Notify(void* cls, MHD_Connection* connection, void**,
                     MHD_ConnectionNotificationCode code) {
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
      static_cast<TlsDaemon*>(cls)->policy_.ConfigureConnection(connection);
  }

  const TlsPolicy& policy_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
};

// Refused in the handshake. Under TLS 1.3 the server checks the client's certificate after the
// client has finished its side, so the client sees the refusal when it reads the answer.
// A refused handshake shows on the client at whichever step it was on when the server's alert
// and close arrived: in TLS 1.3 the client may already be writing its request (then "Write").
#define EXPECT_REFUSED(answer)                                                     \
  do {                                                                             \
    std::string got = (answer);                                                    \
    EXPECT_TRUE(got.starts_with("error: SSLConnection") || got == "error: Read" || \
                got == "error: Write")                                             \
        << got;                                                                    \
  } while (0)

class TlsPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(certs_.ok()) << "make_test_certs.sh failed"; }

  std::unique_ptr<TlsPolicy> Policy(const std::string& extra) {
    std::string path = certs_.WriteConfig(
        "web.yml", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n" + extra);
    auto parsed = ReadWebConfig(path);
    EXPECT_EQ(parsed.error, "");
    auto created = TlsPolicy::Create(parsed.config.tls);
    EXPECT_EQ(created.error, "");
    return std::move(created.policy);
  }
  // 200 "ok", or the client's error.
  std::string Get(int port, const ClientOptions& options = {}) {
    auto client = TlsClient(certs_, port, options);
    auto result = client->Get("/");
    if (!result) return "error: " + httplib::to_string(result.error());
    return std::to_string(result->status) + " " + result->body;
  }

  const TestCerts& certs_ = SharedTestCerts();
};

TEST_F(TlsPolicyTest, ServesTlsAndRefusesVersionsBelowTheMinimum) {
  auto policy = Policy("  min_version: TLS13\n");
  ASSERT_TRUE(policy);
  TlsDaemon daemon(*policy);
  ASSERT_NE(daemon.port(), 0);
  EXPECT_EQ(Get(daemon.port()), "200 ok");
  EXPECT_EQ(Get(daemon.port(), {.max_version = TLS1_2_VERSION}), "error: SSLConnection");
  // Plain HTTP to a TLS port gets no answer.
  httplib::Client plain("127.0.0.1", daemon.port());
  plain.set_read_timeout(2);
  EXPECT_FALSE(plain.Get("/"));
}

TEST_F(TlsPolicyTest, DefaultMinimumIsTls12) {
  auto policy = Policy("");
  ASSERT_TRUE(policy);
  TlsDaemon daemon(*policy);
  EXPECT_EQ(Get(daemon.port(), {.max_version = TLS1_2_VERSION}), "200 ok");
  EXPECT_EQ(Get(daemon.port(), {.max_version = TLS1_1_VERSION}), "error: SSLConnection");
}

TEST_F(TlsPolicyTest, RequireAndVerifyClientCert) {
  auto policy =
      Policy("  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n");
  ASSERT_TRUE(policy);
  TlsDaemon daemon(*policy);
  EXPECT_EQ(Get(daemon.port(), {.cert = "client.crt", .key = "client.key"}), "200 ok");
  EXPECT_REFUSED(Get(daemon.port()));  // none
  EXPECT_REFUSED(Get(daemon.port(),
                     {.cert = "rogue.crt", .key = "rogue.key"}));  // not signed by the client CA
  // TLS 1.2 sends the client certificate in another place of the handshake: same answers.
  EXPECT_EQ(Get(daemon.port(),
                {.cert = "client.crt", .key = "client.key", .max_version = TLS1_2_VERSION}),
            "200 ok");
  EXPECT_REFUSED(Get(daemon.port(), {.max_version = TLS1_2_VERSION}));
  EXPECT_REFUSED(
      Get(daemon.port(), {.cert = "rogue.crt", .key = "rogue.key", .max_version = TLS1_2_VERSION}));
}

TEST_F(TlsPolicyTest, VerifyClientCertIfGiven) {
  auto policy = Policy("  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n");
  ASSERT_TRUE(policy);
  TlsDaemon daemon(*policy);
  EXPECT_EQ(Get(daemon.port()), "200 ok");
  EXPECT_EQ(Get(daemon.port(), {.cert = "client.crt", .key = "client.key"}), "200 ok");
  EXPECT_REFUSED(Get(daemon.port(), {.cert = "rogue.crt", .key = "rogue.key"}));
}

TEST_F(TlsPolicyTest, RequireAnyClientCertTakesAnyCertificate) {
  auto policy = Policy("  client_auth_type: RequireAnyClientCert\n");
  ASSERT_TRUE(policy);
  TlsDaemon daemon(*policy);
  EXPECT_REFUSED(Get(daemon.port()));
  EXPECT_REFUSED(Get(daemon.port(), {.max_version = TLS1_2_VERSION}));
  EXPECT_EQ(Get(daemon.port(), {.cert = "rogue.crt", .key = "rogue.key"}), "200 ok");
}

TEST_F(TlsPolicyTest, ClientAllowedSans) {
  auto allowed = Policy(
      "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"
      "  client_allowed_sans: [other.example, 127.0.0.1]\n");
  ASSERT_TRUE(allowed);
  TlsDaemon daemon(*allowed);
  EXPECT_EQ(Get(daemon.port(), {.cert = "client.crt", .key = "client.key"}), "200 ok");
  auto refused = Policy(
      "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"
      "  client_allowed_sans: [other.example]\n");
  TlsDaemon daemon2(*refused);
  EXPECT_REFUSED(Get(daemon2.port(), {.cert = "client.crt", .key = "client.key"}));
}

TEST_F(TlsPolicyTest, InlineCertificateAndKey) {
  std::string yaml = "tls_server_config:\n  cert: |\n";
  auto indent = [](const std::string& pem) {
    std::string out;
    size_t start = 0;
    while (start < pem.size()) {
      size_t end = pem.find('\n', start);
      out += "    " + pem.substr(start, end - start) + "\n";
      start = end == std::string::npos ? pem.size() : end + 1;
    }
    return out;
  };
  yaml += indent(certs_.Read("server.crt")) + "  key: |\n" + indent(certs_.Read("server.key"));
  auto parsed = ParseWebConfig(yaml, "/base");
  ASSERT_EQ(parsed.error, "");
  auto created = TlsPolicy::Create(parsed.config.tls);
  ASSERT_EQ(created.error, "");
  TlsDaemon daemon(*created.policy);
  EXPECT_EQ(Get(daemon.port()), "200 ok");
}

TEST_F(TlsPolicyTest, BadMaterialIsRefusedWithTheFileAndTheReason) {
  auto create = [&](const std::string& tls) {
    auto parsed = ReadWebConfig(certs_.WriteConfig("web.yml", "tls_server_config:\n" + tls));
    EXPECT_EQ(parsed.error, "");
    return TlsPolicy::Create(parsed.config.tls).error;
  };
  EXPECT_EQ(create("  cert_file: missing.crt\n  key_file: server.key\n"),
            "cert_file " + certs_.Path("missing.crt") + ": No such file or directory");
  EXPECT_EQ(create("  cert_file: server.crt\n  key_file: missing.key\n"),
            "key_file " + certs_.Path("missing.key") + ": No such file or directory");
  std::string mismatch = create("  cert_file: server.crt\n  key_file: other.key\n");
  EXPECT_NE(mismatch.find("cannot load the certificate and key (cert_file " +
                          certs_.Path("server.crt") + ", key_file " + certs_.Path("other.key")),
            std::string::npos)
      << mismatch;
  std::string not_pem = create("  cert_file: web.yml\n  key_file: server.key\n");
  EXPECT_NE(not_pem.find("cannot load the certificate and key"), std::string::npos) << not_pem;
  std::string no_ca = create(
      "  cert_file: server.crt\n  key_file: server.key\n"
      "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: server.key\n");
  EXPECT_EQ(no_ca, "client_ca_file " + certs_.Path("server.key") + ": no certificates found");
  std::filesystem::create_directory(certs_.Path("dir"));
  EXPECT_EQ(create("  cert_file: server.crt\n  key_file: dir\n"),
            "key_file " + certs_.Path("dir") + ": Is a directory");
  if (geteuid() != 0) {  // root reads any file
    certs_.WriteConfig("locked.key", certs_.Read("server.key"));
    std::filesystem::permissions(certs_.Path("locked.key"), std::filesystem::perms::none);
    EXPECT_EQ(create("  cert_file: server.crt\n  key_file: locked.key\n"),
              "key_file " + certs_.Path("locked.key") + ": Permission denied");
  }
}

}  // namespace
}  // namespace nfct::testing
