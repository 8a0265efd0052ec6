// Basic auth against bcrypt hashes: right, wrong, unknown and malformed credentials; what is
// remembered (no second bcrypt); unknown users cost a bcrypt too; the bcrypt budget.
#include "exporter/web/basic_auth.h"

#include <crypt.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace nfct::testing {
namespace {

using Result = BasicAuth::Result;

// A bcrypt hash made now, at a low cost so the tests stay fast.
std::string Hash(const std::string& password, int cost = 4, const char* prefix = "$2y$") {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(crypt_gensalt_rn(prefix, cost, nullptr, 0, setting, sizeof(setting)), nullptr);
  crypt_data data{};
  const char* out = crypt_rn(password.c_str(), setting, &data, sizeof(data));
  EXPECT_NE(out, nullptr);
  return out;
}

std::string Header(const std::string& user_colon_password) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out = "Basic ";
  const std::string& in = user_colon_password;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<uint8_t>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<uint8_t>(in[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

std::map<std::string, std::string, std::less<>> Users(int cost = 4) {
  // $2y$ (htpasswd), $2b$ and $2a$ all verify with libxcrypt.
  std::string alice = Hash("alice-password", cost, "$2b$");
  alice.replace(0, 4, "$2y$");
  return {{"alice", alice},
          {"bob", Hash("bob-password", cost, "$2b$")},
          {"carol", Hash("carol-password", cost, "$2a$")}};
}

TEST(BasicAuthTest, RightWrongUnknownAndMalformed) {
  BasicAuth auth(Users());
  ASSERT_TRUE(auth.enabled());
  EXPECT_EQ(auth.Check(Header("alice:alice-password")), Result::kOk);
  EXPECT_EQ(auth.Check(Header("bob:bob-password")), Result::kOk);
  EXPECT_EQ(auth.Check(Header("carol:carol-password")), Result::kOk);
  EXPECT_EQ(auth.Check(Header("alice:bob-password")), Result::kDenied);  // another's password
  EXPECT_EQ(auth.Check(Header("alice:alice-passwor")), Result::kDenied);
  EXPECT_EQ(auth.Check(Header("mallory:alice-password")), Result::kDenied);
  EXPECT_EQ(auth.Check(Header("alice:")), Result::kDenied);
  EXPECT_EQ(auth.Check(std::string_view("alice"), std::string_view("alice-password\0x", 16)),
            Result::kDenied);  // a NUL must not cut the password short for crypt()
  EXPECT_EQ(auth.Check(""), Result::kDenied);
  EXPECT_EQ(auth.Check("Bearer abc"), Result::kDenied);
  EXPECT_EQ(auth.Check("Basic !!!!"), Result::kDenied);
  EXPECT_EQ(auth.Check(Header("no-colon")), Result::kDenied);
  // The scheme is case-insensitive (RFC 7617); the password may contain ':'.
  std::string lower = Header("alice:alice-password");
  lower.replace(0, 5, "basic");
  EXPECT_EQ(auth.Check(lower), Result::kOk);
  BasicAuth colon({{"dave", Hash("a:b")}});
  EXPECT_EQ(colon.Check(Header("dave:a:b")), Result::kOk);
}

TEST(BasicAuthTest, NoUsersMeansNoAuthentication) {
  BasicAuth auth({});
  EXPECT_FALSE(auth.enabled());
  EXPECT_EQ(auth.Check(""), Result::kOk);
}

TEST(BasicAuthTest, VerifiedAndRefusedPasswordsAreRemembered) {
  BasicAuth auth(Users());
  EXPECT_EQ(auth.Check(Header("alice:alice-password")), Result::kOk);
  EXPECT_EQ(auth.bcrypt_runs(), 1u);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(auth.Check(Header("alice:alice-password")), Result::kOk);
  EXPECT_EQ(auth.bcrypt_runs(), 1u);  // a scrape with good credentials costs no bcrypt
  EXPECT_EQ(auth.Check(Header("alice:wrong")), Result::kDenied);
  EXPECT_EQ(auth.Check(Header("alice:wrong")), Result::kDenied);
  EXPECT_EQ(auth.bcrypt_runs(), 2u);
  // Unknown users pay a bcrypt too, so the answer time does not tell which users exist.
  EXPECT_EQ(auth.Check(Header("mallory:x")), Result::kDenied);
  EXPECT_EQ(auth.bcrypt_runs(), 3u);
  // A wrong password after a right one is checked again, and the right one still works.
  EXPECT_EQ(auth.Check(Header("alice:other")), Result::kDenied);
  EXPECT_EQ(auth.Check(Header("alice:alice-password")), Result::kOk);
  EXPECT_EQ(auth.bcrypt_runs(), 4u);
}

TEST(BasicAuthTest, WithoutBlockingOnlyWhatNeedsNoBcryptIsAnswered) {
  // The HTTP server asks on its event loop first: nothing there may wait for a bcrypt.
  constexpr auto kNoBlock = BasicAuth::Mode::kNoBlock;
  BasicAuth auth(Users());
  EXPECT_EQ(auth.Check(Header("alice:alice-password"), kNoBlock), Result::kWouldBlock);
  EXPECT_EQ(auth.Check(Header("mallory:x"), kNoBlock), Result::kWouldBlock);  // unknown alike
  EXPECT_EQ(auth.Check("", kNoBlock), Result::kDenied);                       // no header
  EXPECT_EQ(auth.Check("Basic !!!!", kNoBlock), Result::kDenied);             // malformed
  EXPECT_EQ(auth.bcrypt_runs(), 0u);
  EXPECT_EQ(auth.Check(Header("alice:alice-password")), Result::kOk);
  EXPECT_EQ(auth.Check(Header("alice:wrong")), Result::kDenied);
  EXPECT_EQ(auth.bcrypt_runs(), 2u);
  // Remembered answers come without blocking.
  EXPECT_EQ(auth.Check(Header("alice:alice-password"), kNoBlock), Result::kOk);
  EXPECT_EQ(auth.Check(Header("alice:wrong"), kNoBlock), Result::kDenied);
  EXPECT_EQ(auth.Check(Header("alice:other"), kNoBlock), Result::kWouldBlock);
  EXPECT_EQ(auth.bcrypt_runs(), 2u);
}

TEST(BasicAuthTest, WithoutBlockingASpentBudgetIsThrottled) {
  auto now = std::make_shared<std::chrono::steady_clock::time_point>();
  BasicAuth::Options options;
  options.burst_seconds = 0.0;  // nothing to spend until time passes
  options.now = [now] { return *now; };
  BasicAuth auth(Users(), options);
  EXPECT_EQ(auth.Check("bob", "bob-password", BasicAuth::Mode::kNoBlock), Result::kThrottled);
  EXPECT_EQ(auth.bcrypt_runs(), 0u);
}

TEST(BasicAuthTest, RememberedFailuresAreBounded) {
  BasicAuth::Options options;
  options.remembered_failures = 3;
  options.burst_seconds = 1e9;
  BasicAuth auth(Users(), options);
  for (int i = 0; i < 5; ++i) auth.Check("alice", "wrong" + std::to_string(i));
  EXPECT_EQ(auth.bcrypt_runs(), 5u);
  auth.Check("alice", "wrong4");  // remembered
  EXPECT_EQ(auth.bcrypt_runs(), 5u);
  auth.Check("alice", "wrong0");  // evicted: computed again
  EXPECT_EQ(auth.bcrypt_runs(), 6u);
}

double Median(std::vector<double> times) {
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

TEST(BasicAuthTest, UnknownUsersTakeAsLongAsKnownOnes) {
  BasicAuth::Options options;
  options.burst_seconds = 1e9;
  BasicAuth auth(Users(8), options);  // cost 8: ~15 ms, well above the noise
  // Known and unknown users alternate, so a load change on the machine hits both alike.
  std::vector<double> known, unknown;
  for (int i = 0; i < 11; ++i) {
    for (auto* times : {&known, &unknown}) {
      const char* user = times == &known ? "alice" : "nobody";
      auto start = std::chrono::steady_clock::now();
      auth.Check(user, "guess" + std::to_string(i));  // fresh passwords: never remembered
      times->push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
  }
  double k = Median(known), u = Median(unknown);
  EXPECT_GT(u, k * 0.5) << k << " vs " << u;
  EXPECT_LT(u, k * 2.0) << k << " vs " << u;
}

TEST(BasicAuthTest, BcryptTimeIsBudgeted) {
  // A clock that moves `step` on every reading, so each bcrypt "costs" one step.
  auto now = std::make_shared<std::chrono::steady_clock::time_point>();
  auto step = std::make_shared<std::chrono::milliseconds>(100);
  BasicAuth::Options options;
  options.cpu_share = 0.25;
  options.burst_seconds = 1.0;
  options.now = [now, step] { return *now += *step; };
  BasicAuth auth(Users(), options);
  const auto start = *now;
  ASSERT_EQ(auth.Check(Header("alice:alice-password")), Result::kOk);
  int throttled = 0;
  for (int i = 0; i < 200; ++i) {
    Result r = auth.Check("mallory", "guess" + std::to_string(i));
    EXPECT_NE(r, Result::kOk);
    throttled += r == Result::kThrottled;
  }
  // bcrypt time stays within the burst plus the share of the time that passed.
  double elapsed = std::chrono::duration<double>(*now - start).count();
  double bcrypt_seconds = auth.bcrypt_runs() * 0.1;
  EXPECT_LE(bcrypt_seconds, 1.0 + 0.25 * elapsed + 0.1) << elapsed;
  EXPECT_GT(throttled, 50);
  // Drain what is left, then stop the clock: nothing refills.
  for (int i = 0; auth.Check("mallory", "more" + std::to_string(i)) != Result::kThrottled; ++i) {
  }
  *step = std::chrono::milliseconds(0);
  // Known users are throttled alike (no enumeration through 429 vs 401)...
  EXPECT_EQ(auth.Check("bob", "guess"), Result::kThrottled);
  EXPECT_EQ(auth.Check("bob", "bob-password"), Result::kThrottled);
  // ...but a remembered good password is answered at once, budget or not.
  EXPECT_EQ(auth.Check(Header("alice:alice-password")), Result::kOk);
  // Time refills the budget.
  *now += std::chrono::seconds(10);
  EXPECT_EQ(auth.Check("bob", "bob-password"), Result::kOk);
}

TEST(BasicAuthTest, OnePasswordCheckAtATime) {
  // While one bcrypt runs, another unknown password is not queued behind it (that would tie
  // up a second server worker): it is throttled at once. Remembered passwords still pass.
  BasicAuth::Options options;
  options.burst_seconds = 1e9;
  BasicAuth auth(Users(11), options);  // cost 11: a hundred milliseconds or more
  ASSERT_EQ(auth.Check("alice", "wrong"), Result::kDenied);  // remembered from now on
  auto running = std::async(std::launch::async, [&] { return auth.Check("alice", "slow"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(auth.Check("bob", "other"), Result::kThrottled);
  EXPECT_EQ(auth.Check("alice", "wrong"), Result::kDenied);  // remembered: no bcrypt needed
  EXPECT_EQ(running.get(), Result::kDenied);
  EXPECT_EQ(auth.Check("bob", "other"), Result::kDenied);  // checked now that nothing runs
  EXPECT_EQ(auth.bcrypt_runs(), 3u);
}

TEST(BasicAuthTest, DecodesBase64) {
  std::string out;
  EXPECT_TRUE(DecodeBase64("YWxpY2U6c2VjcmV0", out));
  EXPECT_EQ(out, "alice:secret");
  EXPECT_TRUE(DecodeBase64("YQ==", out));
  EXPECT_EQ(out, "a");
  EXPECT_TRUE(DecodeBase64("YWI=", out));
  EXPECT_EQ(out, "ab");
  EXPECT_TRUE(DecodeBase64("", out));
  EXPECT_EQ(out, "");
  EXPECT_FALSE(DecodeBase64("YQ=", out));
  EXPECT_FALSE(DecodeBase64("Y===", out));
  EXPECT_FALSE(DecodeBase64("YW=j", out));
  EXPECT_FALSE(DecodeBase64("YW*j", out));
}

}  // namespace
}  // namespace nfct::testing
