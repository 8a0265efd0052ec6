// HTTP basic authentication against the bcrypt hashes of basic_auth_users (web config), verified
// with libxcrypt. bcrypt costs ~55 ms at cost 10, so a verified password is remembered (as a
// keyed SHA-256, compared in constant time), a refused one too, unknown users pay the same bcrypt
// as known ones, and bcrypt time is budgeted so a hostile client cannot turn it into a CPU burner.
// The HTTP server calls Check() for each request, first on its event loop without blocking (an
// answer from the cache), then on a worker when bcrypt must run; thread safe.
#pragma once

#include <crypt.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

namespace nfct {

class BasicAuth {
 public:
  enum class Result {
    kOk,
    kDenied,      // 401 with kChallenge
    kThrottled,   // the bcrypt budget is spent: 429, nothing was computed
    kWouldBlock,  // only in kNoBlock mode: the answer needs a bcrypt run (~55 ms)
  };
  enum class Mode {
    kMayBlock,  // runs bcrypt when the answer is not remembered
    kNoBlock,   // answers only what needs no bcrypt (remembered, malformed, throttled), in
                // microseconds, and kWouldBlock otherwise
  };
  struct Options {
    // bcrypt may use this share of one core over time (0.25: 250 ms per second)...
    double cpu_share = 0.25;
    // ...with bursts of this many seconds (a restart with several scrapers, a few typos).
    double burst_seconds = 1.0;
    size_t remembered_failures = 256;  // distinct wrong user/password pairs remembered
    // Password checks running or queued at once; more get kThrottled at once. 1 keeps all but
    // one of the server's workers free to refuse the rest without waiting.
    int max_concurrent = 1;
    std::function<std::chrono::steady_clock::time_point()> now = [] {
      return std::chrono::steady_clock::now();
    };
  };
  static constexpr std::string_view kChallenge = "Basic realm=\"nf_conntrack_exporter\"";

  // users: name -> bcrypt hash, already validated (IsBcryptHash). Empty: every request passes.
  explicit BasicAuth(std::map<std::string, std::string, std::less<>> users)
      : BasicAuth(std::move(users), Options()) {}
  BasicAuth(std::map<std::string, std::string, std::less<>> users, Options options);
  ~BasicAuth();
  BasicAuth(const BasicAuth&) = delete;
  BasicAuth& operator=(const BasicAuth&) = delete;

  bool enabled() const { return !users_.empty(); }
  // The value of the Authorization header ("Basic dXNlcjpwYXNz"); empty when there was none.
  Result Check(std::string_view authorization, Mode mode = Mode::kMayBlock);
  Result Check(std::string_view user, std::string_view password, Mode mode = Mode::kMayBlock);
  // bcrypt runs so far (tests and the log use it).
  uint64_t bcrypt_runs() const;

 private:
  using Digest = std::array<uint8_t, 32>;
  Digest Key(std::string_view user, std::string_view password) const;
  bool TakeBudget();  // under mu_
  void RememberFailure(const Digest& digest);

  const std::map<std::string, std::string, std::less<>> users_;
  const Options options_;
  std::string decoy_hash_;  // same cost as the users' hashes, matches no password
  std::array<uint8_t, 32> hmac_key_{};

  mutable std::mutex mu_;                                // guards everything below
  std::map<std::string, Digest, std::less<>> verified_;  // user -> key of the good password
  std::set<Digest> failures_;
  std::deque<Digest> failure_order_;  // oldest first, for eviction
  double budget_seconds_;
  std::chrono::steady_clock::time_point budget_time_;
  int in_bcrypt_ = 0;  // running or queued for bcrypt_mu_
  uint64_t bcrypt_runs_ = 0;

  std::mutex bcrypt_mu_;  // one bcrypt at a time; guards crypt_data_
  std::unique_ptr<crypt_data> crypt_data_;
};

// Decodes standard base64 (with padding); nullopt-like false on bad input. Exposed for tests.
bool DecodeBase64(std::string_view in, std::string& out);

}  // namespace nfct
