#include "exporter/web/basic_auth.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <algorithm>
#include <stdexcept>

namespace nfct {
namespace {

// Compares every byte whatever the first difference: the time says nothing about how much of a
// secret matched. Lengths are not secret (a bcrypt hash is always 60 characters).
bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]);
  return diff == 0;
}

template <size_t N>
bool ConstantTimeEqual(const std::array<uint8_t, N>& a, const std::array<uint8_t, N>& b) {
  uint8_t diff = 0;
  for (size_t i = 0; i < N; ++i) diff |= a[i] ^ b[i];
  return diff == 0;
}

int BcryptCost(std::string_view hash) { return (hash[4] - '0') * 10 + (hash[5] - '0'); }

// The cost most users' hashes have (ties: the higher), so that an unknown user costs what a
// known one does; a file whose users all share one cost (the usual case) leaks nothing.
int DecoyCost(const std::map<std::string, std::string, std::less<>>& users) {
  std::map<int, int> counts;
  for (const auto& [user, hash] : users) ++counts[BcryptCost(hash)];
  int best = 10, best_count = 0;
  for (const auto& [cost, count] : counts) {
    if (count >= best_count) best = cost, best_count = count;
  }
  return best;
}

}  // namespace

bool DecodeBase64(std::string_view in, std::string& out) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  out.clear();
  if (in.size() % 4 != 0) return false;
  size_t padding = 0;
  if (!in.empty() && in.back() == '=') padding = in.size() >= 2 && in[in.size() - 2] == '=' ? 2 : 1;
  uint32_t bits = 0;
  int nbits = 0;
  for (size_t i = 0; i < in.size() - padding; ++i) {
    int v = value(in[i]);
    if (v < 0) return false;
    bits = (bits << 6) | static_cast<uint32_t>(v);
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      out.push_back(static_cast<char>((bits >> nbits) & 0xff));
    }
  }
  return true;
}

BasicAuth::BasicAuth(std::map<std::string, std::string, std::less<>> users, Options options)
    : users_(std::move(users)),
      options_(std::move(options)),
      budget_seconds_(options_.burst_seconds),
      budget_time_(options_.now()),
      crypt_data_(std::make_unique<crypt_data>()) {
  if (gnutls_rnd(GNUTLS_RND_KEY, hmac_key_.data(), hmac_key_.size()) != 0)
    throw std::runtime_error("no randomness for the password cache key");
  // A bcrypt setting with a random salt: crypt_rn hashes at its cost and matches nothing.
  char random[16];
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (gnutls_rnd(GNUTLS_RND_NONCE, random, sizeof(random)) != 0 ||
      !crypt_gensalt_rn("$2b$", DecoyCost(users_), random, sizeof(random), setting,
                        sizeof(setting)))
    throw std::runtime_error("cannot make a bcrypt salt");
  decoy_hash_ = setting;
}

BasicAuth::~BasicAuth() = default;

BasicAuth::Digest BasicAuth::Key(std::string_view user, std::string_view password) const {
  // The user is part of the key so one user's password never answers for another.
  std::string data;
  data.reserve(user.size() + 1 + password.size());
  data.append(user).push_back('\0');
  data.append(password);
  Digest digest{};
  gnutls_hmac_fast(GNUTLS_MAC_SHA256, hmac_key_.data(), hmac_key_.size(), data.data(), data.size(),
                   digest.data());
  std::fill(data.begin(), data.end(), '\0');
  return digest;
}

bool BasicAuth::TakeBudget() {
  auto now = options_.now();
  double elapsed = std::chrono::duration<double>(now - budget_time_).count();
  budget_time_ = now;
  budget_seconds_ =
      std::min(options_.burst_seconds, budget_seconds_ + elapsed * options_.cpu_share);
  return budget_seconds_ > 0;
}

void BasicAuth::RememberFailure(const Digest& digest) {
  if (!failures_.insert(digest).second) return;
  failure_order_.push_back(digest);
  while (failure_order_.size() > options_.remembered_failures) {
    failures_.erase(failure_order_.front());
    failure_order_.pop_front();
  }
}

uint64_t BasicAuth::bcrypt_runs() const {
  std::lock_guard lock(mu_);
  return bcrypt_runs_;
}

BasicAuth::Result BasicAuth::Check(std::string_view authorization, Mode mode) {
  if (!enabled()) return Result::kOk;
  constexpr std::string_view kScheme = "basic ";
  if (authorization.size() < kScheme.size()) return Result::kDenied;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i])
      return Result::kDenied;
  }
  std::string_view encoded = authorization.substr(kScheme.size());
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
  std::string decoded;
  if (!DecodeBase64(encoded, decoded)) return Result::kDenied;
  size_t colon = decoded.find(':');
  if (colon == std::string::npos) return Result::kDenied;
  Result result = Check(std::string_view(decoded).substr(0, colon),
                        std::string_view(decoded).substr(colon + 1), mode);
  std::fill(decoded.begin(), decoded.end(), '\0');
  return result;
}

BasicAuth::Result BasicAuth::Check(std::string_view user, std::string_view password, Mode mode) {
  if (!enabled()) return Result::kOk;
  // crypt() reads a C string: "secret\0anything" must not pass as "secret".
  if (password.find('\0') != std::string_view::npos) return Result::kDenied;
  auto known = users_.find(user);
  const std::string& hash = known != users_.end() ? known->second : decoy_hash_;
  const Digest key = Key(user, password);
  {
    std::lock_guard lock(mu_);
    if (auto it = verified_.find(user); it != verified_.end() && ConstantTimeEqual(it->second, key))
      return Result::kOk;
    if (failures_.count(key)) return Result::kDenied;
    if (in_bcrypt_ >= options_.max_concurrent || !TakeBudget()) return Result::kThrottled;
    if (mode == Mode::kNoBlock) return Result::kWouldBlock;
    ++in_bcrypt_;
  }
  bool match = false;
  {
    std::lock_guard bcrypt_lock(bcrypt_mu_);
    std::string password_copy(password);
    auto start = options_.now();
    const char* out =
        crypt_rn(password_copy.c_str(), hash.c_str(), crypt_data_.get(), sizeof(crypt_data));
    auto spent = std::chrono::duration<double>(options_.now() - start).count();
    std::fill(password_copy.begin(), password_copy.end(), '\0');
    match =
        out != nullptr && out[0] != '*' && ConstantTimeEqual(out, hash) && known != users_.end();
    std::lock_guard lock(mu_);
    budget_seconds_ -= spent;
    --in_bcrypt_;
    ++bcrypt_runs_;
    if (match) {
      verified_[known->first] = key;
    } else {
      RememberFailure(key);
    }
  }
  return match ? Result::kOk : Result::kDenied;
}

}  // namespace nfct
