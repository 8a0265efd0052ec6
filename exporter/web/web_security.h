// Everything --web.config.file turns on, built once at start from the file: TLS (TlsPolicy),
// basic auth (BasicAuth), exporter-toolkit's rate limit and the extra response headers, handed
// to HttpServer as HttpHooks. main() owns it; it must outlive the server. The hooks it returns
// are thread safe (they run on the server's worker and event-loop threads).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "exporter/http/http_server.h"
#include "exporter/web/basic_auth.h"
#include "exporter/web/tls_policy.h"
#include "exporter/web/web_config.h"

namespace nfct {

// Go's rate.Limiter as exporter-toolkit uses it: one token every `interval`, at most `burst`
// stored, starting full. A burst of 0 admits nothing. Thread safe.
class RateLimiter {
 public:
  using Now = std::function<std::chrono::steady_clock::time_point()>;
  RateLimiter(
      RateLimit limit, Now now = [] { return std::chrono::steady_clock::now(); });
  bool Allow();

 private:
  const RateLimit limit_;
  const Now now_;
  std::mutex mu_;
  double tokens_;
  std::chrono::steady_clock::time_point last_;
};

class WebSecurity {
 public:
  struct Loaded {
    std::unique_ptr<WebSecurity> security;
    std::string error;  // one line: "web config /etc/web.yml: key_file /x.key: No such file..."
  };
  // Reads and checks the file and everything it names (certificates, keys, CA).
  static Loaded Load(const std::filesystem::path& path);
  // The same from parsed data; `where` prefixes errors (the file's name).
  static Loaded FromConfig(WebConfig config, const std::string& where);

  // TLS flags and options, the per-connection TLS setup, the request check (rate limit, then
  // basic auth: 401 with WWW-Authenticate, 429 when bcrypt's budget is spent) and the headers.
  HttpHooks Hooks();
  // For the start log line: "tls=TLS12-TLS13 client_auth=... basic_auth_users=2 ...".
  std::string Summary() const;

 private:
  WebSecurity() = default;

  WebConfig config_;
  std::unique_ptr<TlsPolicy> tls_;
  std::unique_ptr<BasicAuth> auth_;
  std::unique_ptr<RateLimiter> limiter_;
};

}  // namespace nfct
