#include "exporter/web/web_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <set>

#include "collectors/duration.h"
#include "collectors/env.h"

namespace nfct {
namespace {

// The names exporter-toolkit accepts are Go's tls.CipherSuites(); Go releases before 1.22 also
// listed the RSA key exchange ones, so files written for those node_exporter builds parse too.
// Go's "insecure" list (RC4, 3DES, CBC-SHA256) is refused there and here.
struct CipherName {
  std::string_view name;
  uint16_t id;
};
constexpr std::array<CipherName, 17> kCiphers = {{
    {"TLS_RSA_WITH_AES_128_CBC_SHA", 0x002f},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", 0x0035},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", 0x009c},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", 0x009d},
    {"TLS_AES_128_GCM_SHA256", 0x1301},
    {"TLS_AES_256_GCM_SHA384", 0x1302},
    {"TLS_CHACHA20_POLY1305_SHA256", 0x1303},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", 0xc009},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", 0xc00a},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 0xc013},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", 0xc014},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0xc02b},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0xc02c},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xc02f},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0xc030},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0xcca8},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0xcca9},
}};

constexpr std::array<std::string_view, 4> kCurves = {"CurveP256", "CurveP384", "CurveP521",
                                                     "X25519"};

constexpr std::array<std::pair<std::string_view, ClientAuth>, 7> kClientAuths = {{
    {"", ClientAuth::kNoClientCert},
    {"NoClientCert", ClientAuth::kNoClientCert},
    {"RequestClientCert", ClientAuth::kRequestClientCert},
    {"RequireAnyClientCert", ClientAuth::kRequireAnyClientCert},
    {"RequireClientCert", ClientAuth::kRequireAnyClientCert},  // exporter-toolkit's old name
    {"VerifyClientCertIfGiven", ClientAuth::kVerifyClientCertIfGiven},
    {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerifyClientCert},
}};

constexpr std::array<std::pair<std::string_view, TlsVersion>, 4> kVersions = {{
    {"TLS10", TlsVersion::kTls10},
    {"TLS11", TlsVersion::kTls11},
    {"TLS12", TlsVersion::kTls12},
    {"TLS13", TlsVersion::kTls13},
}};

// exporter-toolkit's extraHTTPHeaders: the only headers it lets a file set, and the values of
// the two that are enumerations.
struct AllowedHeader {
  std::string_view name;
  std::vector<std::string_view> values;  // empty: any value
};
const std::vector<AllowedHeader>& AllowedHeaders() {
  static const std::vector<AllowedHeader> kHeaders = {
      {"Strict-Transport-Security", {}},
      {"X-Content-Type-Options", {"nosniff"}},
      {"X-Frame-Options", {"deny", "sameorigin"}},
      {"X-XSS-Protection", {}},
      {"Content-Security-Policy", {}},
  };
  return kHeaders;
}

// Thrown inside this file only, caught by ParseWebConfig: a message with its YAML line.
struct ConfigError {
  std::string message;
};

[[noreturn]] void Fail(const YAML::Node& node, const std::string& message) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) throw ConfigError{message};
  throw ConfigError{"line " + std::to_string(mark.line + 1) + ": " + message};
}

std::string Scalar(const YAML::Node& node, std::string_view key) {
  if (node.IsNull()) return "";
  if (!node.IsScalar()) Fail(node, std::string(key) + ": must be a string");
  return node.Scalar();
}

bool Bool(const YAML::Node& node, std::string_view key) {
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value))
    Fail(node, std::string(key) + ": must be true or false");
  return value;
}

std::vector<std::string> Strings(const YAML::Node& node, std::string_view key) {
  std::vector<std::string> out;
  if (node.IsNull()) return out;
  if (!node.IsSequence()) Fail(node, std::string(key) + ": must be a list");
  for (const auto& item : node) out.push_back(Scalar(item, key));
  return out;
}

// Calls `field(key, value)` for each entry of a mapping; refuses duplicates and non-string
// keys (Go's yaml.UnmarshalStrict refuses both). A null node is an empty mapping.
template <typename F>
void ForEachEntry(const YAML::Node& node, std::string_view what, F field) {
  if (node.IsNull()) return;
  if (!node.IsMap()) Fail(node, std::string(what) + ": must be a mapping");
  std::set<std::string, std::less<>> seen;
  for (const auto& entry : node) {
    if (!entry.first.IsScalar()) Fail(entry.first, std::string(what) + ": keys must be strings");
    const std::string& key = entry.first.Scalar();
    if (!seen.insert(key).second) Fail(entry.first, "duplicate key \"" + key + "\"");
    field(key, entry.first, entry.second);
  }
}

[[noreturn]] void UnknownKey(const YAML::Node& key_node, std::string_view section,
                             std::string_view key) {
  Fail(key_node, "unknown key \"" + std::string(key) + "\"" +
                     (section.empty() ? "" : " in " + std::string(section)));
}

TlsVersion Version(const YAML::Node& node, std::string_view key) {
  std::string name = Scalar(node, key);
  for (const auto& [text, version] : kVersions)
    if (text == name) return version;
  Fail(node, std::string(key) + ": unknown TLS version \"" + name +
                 "\" (expected TLS10, TLS11, TLS12 or TLS13)");
}

std::string JoinDir(const std::filesystem::path& base_dir, const std::string& path) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (base_dir / path).lexically_normal().string();
}

void ParseTls(const YAML::Node& node, const std::filesystem::path& base_dir, TlsServerConfig& tls) {
  ForEachEntry(
      node, "tls_server_config",
      [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) {
        if (key == "cert_file") {
          tls.cert_file = JoinDir(base_dir, Scalar(value, key));
        } else if (key == "key_file") {
          tls.key_file = JoinDir(base_dir, Scalar(value, key));
        } else if (key == "client_ca_file") {
          tls.client_ca_file = JoinDir(base_dir, Scalar(value, key));
        } else if (key == "cert") {
          tls.cert = Scalar(value, key);
        } else if (key == "key") {
          tls.key = Scalar(value, key);
        } else if (key == "client_ca") {
          tls.client_ca = Scalar(value, key);
        } else if (key == "client_auth_type") {
          std::string name = Scalar(value, key);
          auto it = std::find_if(kClientAuths.begin(), kClientAuths.end(),
                                 [&](const auto& known) { return known.first == name; });
          if (it == kClientAuths.end())
            Fail(value, "client_auth_type: unknown value \"" + name +
                            "\" (expected NoClientCert, RequestClientCert, RequireAnyClientCert, "
                            "VerifyClientCertIfGiven or RequireAndVerifyClientCert)");
          tls.client_auth = it->second;
        } else if (key == "cipher_suites") {
          for (const auto& name : Strings(value, key)) {
            auto it = std::find_if(kCiphers.begin(), kCiphers.end(),
                                   [&](const CipherName& known) { return known.name == name; });
            if (it == kCiphers.end()) Fail(value, "cipher_suites: unknown cipher \"" + name + "\"");
            tls.cipher_suites.push_back(it->id);
          }
        } else if (key == "curve_preferences") {
          for (const auto& name : Strings(value, key)) {
            if (std::find(kCurves.begin(), kCurves.end(), name) == kCurves.end())
              Fail(value, "curve_preferences: unknown curve \"" + name +
                              "\" (expected CurveP256, CurveP384, CurveP521 or X25519)");
            tls.curve_preferences.push_back(name);
          }
        } else if (key == "min_version") {
          tls.min_version = Version(value, key);
        } else if (key == "max_version") {
          tls.max_version = Version(value, key);
        } else if (key == "prefer_server_cipher_suites") {
          tls.prefer_server_cipher_suites = Bool(value, key);
        } else if (key == "client_allowed_sans") {
          tls.client_allowed_sans = Strings(value, key);
        } else {
          UnknownKey(key_node, "tls_server_config", key);
        }
      });
}

void ParseHttp(const YAML::Node& node, WebConfig& config) {
  ForEachEntry(node, "http_server_config",
               [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) {
                 if (key == "http2") {
                   config.http2 = Bool(value, key);
                 } else if (key == "headers") {
                   ForEachEntry(
                       value, "headers",
                       [&](const std::string& name, const YAML::Node& name_node,
                           const YAML::Node& header_value) {
                         const auto& allowed = AllowedHeaders();
                         auto it =
                             std::find_if(allowed.begin(), allowed.end(),
                                          [&](const AllowedHeader& h) { return h.name == name; });
                         if (it == allowed.end())
                           Fail(name_node, "HTTP header \"" + name + "\" can not be configured");
                         std::string text = Scalar(header_value, name);
                         if (text.find_first_of("\r\n") != std::string::npos)
                           Fail(header_value, "header " + name + ": value must be one line");
                         if (!it->values.empty() && std::find(it->values.begin(), it->values.end(),
                                                              text) == it->values.end()) {
                           std::string expected;
                           for (auto v : it->values)
                             expected += (expected.empty() ? "" : " or ") + std::string(v);
                           Fail(header_value, "header " + name + ": invalid value \"" + text +
                                                  "\" (expected " + expected + ")");
                         }
                         if (!text.empty())
                           config.headers.emplace_back(name, text);  // blank means unset
                       });
                 } else {
                   UnknownKey(key_node, "http_server_config", key);
                 }
               });
}

void ParseUsers(const YAML::Node& node, WebConfig& config) {
  ForEachEntry(node, "basic_auth_users",
               [&](const std::string& user, const YAML::Node&, const YAML::Node& value) {
                 if (user.find(':') != std::string::npos)
                   Fail(value, "basic_auth_users: user \"" + user + "\" contains ':'");
                 std::string hash = Scalar(value, "basic_auth_users");
                 if (!IsBcryptHash(hash))
                   Fail(value,
                        "basic_auth_users: the password of \"" + user +
                            "\" is not a bcrypt hash ($2y$, $2b$ or $2a$; htpasswd -nBC 10 \"\")");
                 config.basic_auth_users.emplace(user, std::move(hash));
               });
}

void ParseRateLimit(const YAML::Node& node, RateLimit& limit) {
  ForEachEntry(node, "rate_limit",
               [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) {
                 if (key == "interval") {
                   std::string text = Scalar(value, key);
                   if (text == "0") {
                     limit.interval = std::chrono::milliseconds(0);
                     return;
                   }
                   auto duration = ParseDuration(text);
                   if (!duration)
                     Fail(value, "rate_limit.interval: not a duration (\"1s\", \"500ms\")");
                   limit.interval = *duration;
                 } else if (key == "burst") {
                   int burst = 0;
                   if (!value.IsScalar() || !YAML::convert<int>::decode(value, burst) || burst < 0)
                     Fail(value, "rate_limit.burst: must be a whole number >= 0");
                   limit.burst = burst;
                 } else {
                   UnknownKey(key_node, "rate_limit", key);
                 }
               });
}

// exporter-toolkit's ConfigToTLSConfig checks, and the ones it leaves to a handshake failure.
void Validate(const WebConfig& config) {
  const TlsServerConfig& tls = config.tls;
  if (!tls.enabled()) return;
  if (tls.cert_file.empty() && tls.cert.empty())
    throw ConfigError{"tls_server_config: missing one of cert or cert_file"};
  if (tls.key_file.empty() && tls.key.empty())
    throw ConfigError{"tls_server_config: missing one of key or key_file"};
  bool has_ca = !tls.client_ca_file.empty() || !tls.client_ca.empty();
  if (has_ca && tls.client_auth == ClientAuth::kNoClientCert)
    throw ConfigError{
        "tls_server_config: client CA's have been configured without a Client Auth Policy"};
  bool verifies = tls.client_auth == ClientAuth::kVerifyClientCertIfGiven ||
                  tls.client_auth == ClientAuth::kRequireAndVerifyClientCert;
  if (verifies && !has_ca)
    throw ConfigError{"tls_server_config: client_auth_type " +
                      std::string(ClientAuthName(tls.client_auth)) +
                      " needs client_ca_file (or client_ca) to verify client certificates"};
  if (tls.client_allowed_sans && tls.client_auth == ClientAuth::kNoClientCert)
    throw ConfigError{"tls_server_config: client_allowed_sans needs a client_auth_type"};
  if (tls.min_version > tls.max_version)
    throw ConfigError{"tls_server_config: min_version " +
                      std::string(TlsVersionName(tls.min_version)) + " is above max_version " +
                      std::string(TlsVersionName(tls.max_version))};
}

}  // namespace

std::string_view ClientAuthName(ClientAuth auth) {
  for (const auto& [name, value] : kClientAuths)
    if (value == auth && !name.empty() && name != "RequireClientCert") return name;
  return "";
}

std::string_view TlsVersionName(TlsVersion version) {
  for (const auto& [name, value] : kVersions)
    if (value == version) return name;
  return "";
}

std::string_view CipherSuiteName(uint16_t id) {
  for (const auto& cipher : kCiphers)
    if (cipher.id == id) return cipher.name;
  return "";
}

bool TlsServerConfig::enabled() const {
  return !cert_file.empty() || !cert.empty() || !key_file.empty() || !key.empty() ||
         !client_ca_file.empty() || !client_ca.empty() || client_auth != ClientAuth::kNoClientCert;
}

bool IsBcryptHash(std::string_view hash) {
  // $2y$10$ + 22 characters of salt + 31 of hash, in bcrypt's base64 alphabet.
  if (hash.size() != 60 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' || hash[6] != '$')
    return false;
  if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') return false;
  if (hash[4] < '0' || hash[4] > '3' || hash[5] < '0' || hash[5] > '9') return false;
  int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return false;
  return std::all_of(hash.begin() + 7, hash.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '/';
  });
}

ParsedWebConfig ParseWebConfig(std::string_view yaml, const std::filesystem::path& base_dir) {
  ParsedWebConfig result;
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    ForEachEntry(root, "the file",
                 [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) {
                   if (key == "tls_server_config") {
                     ParseTls(value, base_dir, result.config.tls);
                   } else if (key == "http_server_config") {
                     ParseHttp(value, result.config);
                   } else if (key == "basic_auth_users") {
                     ParseUsers(value, result.config);
                   } else if (key == "rate_limit") {
                     ParseRateLimit(value, result.config.rate_limit);
                   } else {
                     UnknownKey(key_node, "", key);
                   }
                 });
    Validate(result.config);
  } catch (const ConfigError& e) {
    result = {};
    result.error = e.message;
  } catch (const YAML::Exception& e) {
    result = {};
    result.error = e.mark.is_null() ? "YAML: " + e.msg
                                    : "line " + std::to_string(e.mark.line + 1) + ", column " +
                                          std::to_string(e.mark.column + 1) + ": " + e.msg;
  } catch (const std::exception& e) {
    result = {};
    result.error = e.what();
  }
  return result;
}

ParsedWebConfig ReadWebConfig(const std::filesystem::path& path) {
  ParsedWebConfig result;
  FileRead read = ReadFile(path);
  if (!read.ok()) {
    result.error = "web config " + path.string() + ": cannot read: " + std::strerror(read.error);
    return result;
  }
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  result = ParseWebConfig(read.data, dir);
  if (!result.error.empty()) result.error = "web config " + path.string() + ": " + result.error;
  return result;
}

}  // namespace nfct
