#include "collectors/duration.h"

#include <gtest/gtest.h>

namespace nfct {
namespace {

using std::chrono::milliseconds;

TEST(ParseDuration, AcceptsPrometheusDurations) {
  const std::pair<const char*, int64_t> kAccept[] = {
      {"30s", 30000},   {"2m", 120000},    {"1h30m", 5400000}, {"500ms", 500},
      {"1d", 86400000}, {"1w", 604800000}, {"0s", 0},          {"1m30s500ms", 90500},
  };
  for (const auto& [text, millis] : kAccept) {
    auto parsed = ParseDuration(text);
    ASSERT_TRUE(parsed.has_value()) << text;
    EXPECT_EQ(parsed->count(), millis) << text;
  }
}

TEST(ParseDuration, RejectsMalformedDurations) {
  for (const char* text : {"", "30", "s", "-1s", "1.5s", "30x", "1s1m", "1m1m", "1 m",
                           "99999999999999999999s", "10000000000y"}) {
    EXPECT_FALSE(ParseDuration(text).has_value()) << text;
  }
}

}  // namespace
}  // namespace nfct
