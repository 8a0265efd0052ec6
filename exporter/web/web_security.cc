#include "exporter/web/web_security.h"

#include <algorithm>

namespace nfct {

RateLimiter::RateLimiter(RateLimit limit, Now now)
    : limit_(limit), now_(std::move(now)), tokens_(limit.burst), last_(now_()) {}

bool RateLimiter::Allow() {
  std::lock_guard lock(mu_);
  auto now = now_();
  double interval = std::chrono::duration<double>(limit_.interval).count();
  if (interval > 0) {
    tokens_ = std::min<double>(
        limit_.burst, tokens_ + std::chrono::duration<double>(now - last_).count() / interval);
  }
  last_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

WebSecurity::Loaded WebSecurity::Load(const std::filesystem::path& path) {
  ParsedWebConfig parsed = ReadWebConfig(path);
  if (!parsed.error.empty()) return Loaded{nullptr, parsed.error};
  return FromConfig(std::move(parsed.config), "web config " + path.string());
}

WebSecurity::Loaded WebSecurity::FromConfig(WebConfig config, const std::string& where) {
  Loaded loaded;
  auto security = std::unique_ptr<WebSecurity>(new WebSecurity());
  if (config.tls.enabled()) {
    auto created = TlsPolicy::Create(config.tls);
    if (!created.error.empty()) {
      loaded.error = where + ": " + created.error;
      return loaded;
    }
    security->tls_ = std::move(created.policy);
  }
  try {
    security->auth_ = std::make_unique<BasicAuth>(config.basic_auth_users);
  } catch (const std::exception& e) {
    loaded.error = where + ": " + e.what();
    return loaded;
  }
  if (config.rate_limit.interval.count() > 0)
    security->limiter_ = std::make_unique<RateLimiter>(config.rate_limit);
  security->config_ = std::move(config);
  loaded.security = std::move(security);
  return loaded;
}

HttpHooks WebSecurity::Hooks() {
  HttpHooks hooks;
  if (tls_) {
    hooks.daemon_flags |= MHD_USE_TLS;
    hooks.daemon_options = tls_->MhdOptions();
    const TlsPolicy* tls = tls_.get();
    hooks.connection_started = [tls](MHD_Connection* c) { return tls->ConfigureConnection(c); };
  }
  hooks.response_headers = config_.headers;
  BasicAuth* auth = auth_->enabled() ? auth_.get() : nullptr;
  RateLimiter* limiter = limiter_.get();
  if (auth != nullptr || limiter != nullptr) {
    hooks.check = [auth, limiter](const HttpRequest& request, bool may_block) {
      using Verdict = HttpCheckResult::Verdict;
      auto reply = [](HttpReply r) { return HttpCheckResult{Verdict::kReply, std::move(r)}; };
      // The blocking call continues a non-blocking one that already took its token.
      if (!may_block && limiter != nullptr && !limiter->Allow())
        return reply({429, "Too Many Requests\n", "text/plain; charset=utf-8", {}});
      if (auth == nullptr) return HttpCheckResult{};
      auto mode = may_block ? BasicAuth::Mode::kMayBlock : BasicAuth::Mode::kNoBlock;
      switch (auth->Check(request.Header("Authorization"), mode)) {
        case BasicAuth::Result::kOk:
          return HttpCheckResult{};
        case BasicAuth::Result::kWouldBlock:
          return HttpCheckResult{Verdict::kWouldBlock, {}};
        case BasicAuth::Result::kThrottled:
          // Too many unknown passwords lately: no bcrypt now, and no hint whether this one was
          // right. A scraper whose password was verified before is not affected.
          return reply({429,
                        "Too Many Requests: too many password checks, retry later\n",
                        "text/plain; charset=utf-8",
                        {{"Retry-After", "1"}}});
        case BasicAuth::Result::kDenied:
          break;
      }
      return reply({401,
                    "Unauthorized\n",
                    "text/plain; charset=utf-8",
                    {{"WWW-Authenticate", std::string(BasicAuth::kChallenge)}}});
    };
  }
  return hooks;
}

std::string WebSecurity::Summary() const {
  std::string s;
  if (tls_) {
    s = "tls=" + std::string(TlsVersionName(config_.tls.min_version)) + "-" +
        std::string(TlsVersionName(config_.tls.max_version)) +
        " client_auth=" + std::string(ClientAuthName(config_.tls.client_auth));
  } else {
    s = "tls=off";
  }
  s += " basic_auth_users=" + std::to_string(config_.basic_auth_users.size());
  if (limiter_) s += " rate_limit=on";
  if (!config_.headers.empty()) s += " headers=" + std::to_string(config_.headers.size());
  return s;
}

}  // namespace nfct
