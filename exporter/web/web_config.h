// --web.config.file in exporter-toolkit's format (the file node_exporter reads): TLS, client
// certificates, basic auth users with bcrypt hashes, extra response headers and a rate limit.
// ParseWebConfig is pure (YAML text in, plain struct out, no I/O) and fuzzed; main() calls
// ReadWebConfig once at start. The result is immutable data, safe to share between threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nfct {

// Go's crypto/tls ClientAuthType, by the names exporter-toolkit accepts.
enum class ClientAuth {
  kNoClientCert,
  kRequestClientCert,           // asked for, never required nor verified
  kRequireAnyClientCert,        // required, not verified ("RequireClientCert" too)
  kVerifyClientCertIfGiven,     // optional; verified against the client CA when sent
  kRequireAndVerifyClientCert,  // required and verified: the one that authenticates clients
};
std::string_view ClientAuthName(ClientAuth auth);

enum class TlsVersion { kTls10, kTls11, kTls12, kTls13 };
std::string_view TlsVersionName(TlsVersion version);  // "TLS12", as in the file

struct TlsServerConfig {
  // Paths are joined with the config file's directory, as exporter-toolkit does. The inline
  // variants (cert, key, client_ca) hold PEM text; a path wins over inline text.
  std::string cert_file, key_file, client_ca_file;
  std::string cert, key, client_ca;
  ClientAuth client_auth = ClientAuth::kNoClientCert;
  std::vector<uint16_t> cipher_suites;         // IANA ids in the file's order; empty: default
  std::vector<std::string> curve_preferences;  // "X25519", "CurveP256", "CurveP384", "CurveP521"
  TlsVersion min_version = TlsVersion::kTls12;
  TlsVersion max_version = TlsVersion::kTls13;
  bool prefer_server_cipher_suites = true;
  // Set (even empty) means a client certificate must carry one of these SANs.
  std::optional<std::vector<std::string>> client_allowed_sans;

  // Any TLS key given: the listener speaks TLS (exporter-toolkit's IsEnabled).
  bool enabled() const;
};

struct RateLimit {
  std::chrono::milliseconds interval{0};  // 0: no limit
  int burst = 0;
};

struct WebConfig {
  TlsServerConfig tls;
  bool http2 = true;  // accepted for compatibility; this server speaks HTTP/1.1 only
  std::vector<std::pair<std::string, std::string>> headers;          // http_server_config.headers
  std::map<std::string, std::string, std::less<>> basic_auth_users;  // user -> bcrypt hash
  RateLimit rate_limit;
};

struct ParsedWebConfig {
  WebConfig config;
  std::string error;  // non-empty: one line naming the problem (and its YAML line)
};

// Parses and validates the YAML text; relative paths are joined with base_dir. Never throws.
ParsedWebConfig ParseWebConfig(std::string_view yaml, const std::filesystem::path& base_dir);

// Reads and parses the file; the error names the file: "web config /etc/x.yml: ...".
ParsedWebConfig ReadWebConfig(const std::filesystem::path& path);

// The Go name of a cipher suite ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"), "" when unknown.
std::string_view CipherSuiteName(uint16_t id);

// True when `hash` is a bcrypt hash libxcrypt verifies: $2a$, $2b$ or $2y$, cost 04-31, 60 chars.
bool IsBcryptHash(std::string_view hash);

}  // namespace nfct
