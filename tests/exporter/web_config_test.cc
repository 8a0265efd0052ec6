// The web config parser: every fixture in tests/fixtures/web_config (good_* parse, bad_* are
// refused with the reason below), what each key becomes, and the file-level errors.
#include "exporter/web/web_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/test_support.h"

namespace nfct::testing {
namespace {

std::string Fixture(const std::string& name) {
  return SourcePath("tests/fixtures/web_config/" + name);
}

ParsedWebConfig ReadFixture(const std::string& name) { return ReadWebConfig(Fixture(name)); }

TEST(WebConfigTest, EveryGoodFixtureParsesAndEveryBadOneIsRefused) {
  int good = 0, bad = 0;
  for (const auto& entry : std::filesystem::directory_iterator(Fixture(""))) {
    std::string name = entry.path().filename();
    if (entry.path().extension() != ".yml") continue;
    auto parsed = ReadWebConfig(entry.path());
    if (name.starts_with("good_")) {
      EXPECT_EQ(parsed.error, "") << name;
      ++good;
    } else {
      ASSERT_TRUE(name.starts_with("bad_")) << name;
      EXPECT_NE(parsed.error, "") << name;
      // One line naming the file.
      EXPECT_TRUE(parsed.error.starts_with("web config " + entry.path().string() + ": "))
          << parsed.error;
      EXPECT_EQ(parsed.error.find('\n'), std::string::npos) << parsed.error;
      ++bad;
    }
  }
  EXPECT_GE(good, 7);
  EXPECT_GE(bad, 20);
}

TEST(WebConfigTest, BadFilesSayWhatIsWrong) {
  const std::vector<std::pair<std::string, std::string>> kCases = {
      {"bad_junk.yml", "the file: must be a mapping"},
      {"bad_syntax.yml", "line 3, column 1: end of sequence flow not found"},
      {"bad_unknown_key.yml", "line 2: unknown key \"cert_filse\" in tls_server_config"},
      {"bad_unknown_section.yml", "unknown key \"web_server_config\""},
      {"bad_duplicate_key.yml", "line 3: duplicate key \"alice\""},
      {"bad_wrong_version.yml", "min_version: unknown TLS version \"TLS111\""},
      {"bad_min_above_max.yml", "min_version TLS13 is above max_version TLS12"},
      {"bad_invented_cipher.yml", "unknown cipher \"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA2048\""},
      {"bad_insecure_cipher.yml", "unknown cipher \"TLS_RSA_WITH_RC4_128_SHA\""},
      {"bad_invented_curve.yml", "unknown curve \"CurveP257\""},
      {"bad_client_auth.yml", "client_auth_type: unknown value"},
      {"bad_ca_without_auth.yml", "client CA's have been configured without a Client Auth"},
      {"bad_verify_without_ca.yml", "RequireAndVerifyClientCert needs client_ca_file"},
      {"bad_missing_cert.yml", "missing one of cert or cert_file"},
      {"bad_missing_key.yml", "missing one of key or key_file"},
      {"bad_plain_password.yml", "the password of \"alice\" is not a bcrypt hash"},
      {"bad_user_list.yml", "basic_auth_users: must be a mapping"},
      {"bad_extra_header.yml", "HTTP header \"Set-Cookie\" can not be configured"},
      {"bad_frame_options.yml", "invalid value \"allow\" (expected deny or sameorigin)"},
      {"bad_http2_not_bool.yml", "http2: must be true or false"},
      {"bad_rate_limit.yml", "rate_limit.interval: not a duration"},
      {"bad_sans_without_auth.yml", "client_allowed_sans needs a client_auth_type"},
  };
  for (const auto& [file, reason] : kCases) {
    auto parsed = ReadFixture(file);
    EXPECT_NE(parsed.error.find(reason), std::string::npos) << file << ": " << parsed.error;
  }
}

TEST(WebConfigTest, EveryKeyLandsWhereItBelongs) {
  auto parsed = ReadFixture("good_every_key.yml");
  ASSERT_EQ(parsed.error, "");
  const WebConfig& c = parsed.config;
  const std::string dir = Fixture("");
  // Relative paths are joined with the file's directory; absolute ones are kept.
  EXPECT_EQ(c.tls.cert_file, std::filesystem::path(dir + "server.crt").lexically_normal());
  EXPECT_EQ(c.tls.key_file, "/etc/ssl/private/server.key");
  EXPECT_EQ(c.tls.client_ca_file, std::filesystem::path(dir + "ca.crt").lexically_normal());
  EXPECT_EQ(c.tls.client_auth, ClientAuth::kRequireAndVerifyClientCert);
  EXPECT_EQ(c.tls.min_version, TlsVersion::kTls12);
  EXPECT_EQ(c.tls.max_version, TlsVersion::kTls13);
  EXPECT_EQ(c.tls.cipher_suites, (std::vector<uint16_t>{0xc02b, 0xc02f}));
  EXPECT_EQ(c.tls.curve_preferences, (std::vector<std::string>{"X25519", "CurveP256"}));
  EXPECT_FALSE(c.tls.prefer_server_cipher_suites);
  ASSERT_TRUE(c.tls.client_allowed_sans);
  EXPECT_EQ(*c.tls.client_allowed_sans, std::vector<std::string>{"client.example"});
  EXPECT_TRUE(c.tls.enabled());
  EXPECT_FALSE(c.http2);
  ASSERT_EQ(c.headers.size(), 5u);
  EXPECT_EQ(c.headers[0], (std::pair<std::string, std::string>{"X-Frame-Options", "deny"}));
  EXPECT_EQ(c.headers[3], (std::pair<std::string, std::string>{"X-XSS-Protection", "1"}));
  EXPECT_EQ(c.headers[4].second, "default-src 'self'");
  ASSERT_EQ(c.basic_auth_users.count("alice"), 1u);
  EXPECT_TRUE(c.basic_auth_users.at("alice").starts_with("$2y$10$"));
  EXPECT_EQ(c.rate_limit.interval, std::chrono::seconds(1));
  EXPECT_EQ(c.rate_limit.burst, 10);
}

TEST(WebConfigTest, DefaultsFollowExporterToolkit) {
  auto parsed = ReadFixture("good_empty.yml");
  ASSERT_EQ(parsed.error, "");
  const WebConfig& c = parsed.config;
  EXPECT_FALSE(c.tls.enabled());
  EXPECT_EQ(c.tls.min_version, TlsVersion::kTls12);
  EXPECT_EQ(c.tls.max_version, TlsVersion::kTls13);
  EXPECT_TRUE(c.tls.prefer_server_cipher_suites);
  EXPECT_FALSE(c.tls.client_allowed_sans);
  EXPECT_TRUE(c.basic_auth_users.empty());
  EXPECT_TRUE(c.headers.empty());
  EXPECT_EQ(c.rate_limit.interval.count(), 0);

  auto blank = ReadFixture("good_blank_sections.yml");
  ASSERT_EQ(blank.error, "");
  EXPECT_FALSE(blank.config.tls.enabled());
  EXPECT_TRUE(blank.config.headers.empty());  // a blank header value means "unset"
}

TEST(WebConfigTest, InlinePemAndTheOldClientAuthName) {
  auto parsed = ReadFixture("good_inline.yml");
  ASSERT_EQ(parsed.error, "");
  EXPECT_TRUE(parsed.config.tls.cert.starts_with("-----BEGIN CERTIFICATE-----\n"));
  EXPECT_TRUE(parsed.config.tls.key.starts_with("-----BEGIN PRIVATE KEY-----\n"));
  EXPECT_FALSE(parsed.config.tls.client_ca.empty());
  EXPECT_EQ(parsed.config.tls.client_auth, ClientAuth::kRequireAnyClientCert);
}

TEST(WebConfigTest, BcryptHashShapes) {
  auto users = ReadFixture("good_users.yml");
  ASSERT_EQ(users.error, "");
  EXPECT_EQ(users.config.basic_auth_users.size(), 3u);
  const std::string good = "$2y$10$kpL8.trh2cSHvQAk2MJnd.ssYMJVv6ZM2nEiiMPAOcKmIEZXTXGIi";
  EXPECT_TRUE(IsBcryptHash(good));
  for (std::string prefix : {"$2a$", "$2b$"})
    EXPECT_TRUE(IsBcryptHash(prefix + good.substr(4))) << prefix;
  const std::vector<std::string> kRejected = {
      "",
      "secret",
      "$2x$10$kpL8.trh2cSHvQAk2MJnd.ssYMJVv6ZM2nEiiMPAOcKmIEZXTXGIi",  // buggy-variant prefix
      "$2y$03$kpL8.trh2cSHvQAk2MJnd.ssYMJVv6ZM2nEiiMPAOcKmIEZXTXGIi",  // cost below 4
      "$2y$32$kpL8.trh2cSHvQAk2MJnd.ssYMJVv6ZM2nEiiMPAOcKmIEZXTXGIi",  // cost above 31
      good.substr(0, 59),
      good + "x",
      "$2y$10$kpL8.trh2cSHvQAk2MJnd.ssYMJVv6ZM2nEiiMPAOcKmIEZXTXGI!",
      "$6$rounds=5000$abc$def",  // sha512-crypt: not what exporter-toolkit accepts
  };
  for (const auto& hash : kRejected) EXPECT_FALSE(IsBcryptHash(hash)) << hash;
}

TEST(WebConfigTest, FileErrorsNameTheFile) {
  auto missing = ReadWebConfig("/nonexistent/web.yml");
  EXPECT_EQ(missing.error,
            "web config /nonexistent/web.yml: cannot read: No such file or directory");
  auto directory = ReadWebConfig(Fixture(""));
  EXPECT_TRUE(directory.error.starts_with("web config ")) << directory.error;
}

TEST(WebConfigTest, YamlShapesThatAreNotConfigs) {
  const std::vector<std::pair<std::string, std::string>> kCases = {
      {"[1, 2]", "must be a mapping"},
      {"tls_server_config: 3", "tls_server_config: must be a mapping"},
      {"tls_server_config:\n  cert_file: [a]", "cert_file: must be a string"},
      {"tls_server_config:\n  cipher_suites: TLS_AES_128_GCM_SHA256", "must be a list"},
      {"? [a]\n: b", "keys must be strings"},
      {"http_server_config:\n  headers:\n    X-XSS-Protection: \"1\\r\\nSet-Cookie: a\"",
       "must be one line"},
      {"basic_auth_users:\n  \"a:b\": $2y$10$kpL8.trh2cSHvQAk2MJnd.ssYMJVv6ZM2nEiiMPAOcKmIEZXTXGIi",
       "contains ':'"},
      {"rate_limit:\n  burst: -1", "burst: must be a whole number"},
      {std::string(3000, '['), "line 1"},  // deep nesting: yaml-cpp's depth guard, no crash
  };
  for (const auto& [yaml, reason] : kCases) {
    auto parsed = ParseWebConfig(yaml, "/base");
    EXPECT_NE(parsed.error.find(reason), std::string::npos) << yaml << " -> " << parsed.error;
  }
  // Go's YAML 1.1 booleans are accepted where a boolean belongs.
  auto yes = ParseWebConfig("tls_server_config:\n  prefer_server_cipher_suites: no\n", "/base");
  ASSERT_EQ(yes.error, "");
  EXPECT_FALSE(yes.config.tls.prefer_server_cipher_suites);
}

TEST(WebConfigTest, NamesRoundTrip) {
  EXPECT_EQ(ClientAuthName(ClientAuth::kRequireAnyClientCert), "RequireAnyClientCert");
  EXPECT_EQ(ClientAuthName(ClientAuth::kNoClientCert), "NoClientCert");
  EXPECT_EQ(TlsVersionName(TlsVersion::kTls13), "TLS13");
  EXPECT_EQ(CipherSuiteName(0xcca8), "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
  EXPECT_EQ(CipherSuiteName(0x0005), "");
}

}  // namespace
}  // namespace nfct::testing
