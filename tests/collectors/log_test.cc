#include "collectors/log.h"

#include <gtest/gtest.h>

namespace nfct {
namespace {

TEST(Log, LogfmtQuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(FormatLogLine(LogFormat::kLogfmt, "T", LogLevel::kWarn, "collector unavailable",
                          {{"collector", "stat"}, {"err", "needs \"CAP_NET_ADMIN\""}}),
            "ts=T level=warn msg=\"collector unavailable\" collector=stat "
            "err=\"needs \\\"CAP_NET_ADMIN\\\"\"");
}

TEST(Log, JsonEscapesControlCharacters) {
  EXPECT_EQ(FormatLogLine(LogFormat::kJson, "T", LogLevel::kError, "a\nb", {{"k", "\x01"}}),
            "{\"ts\":\"T\",\"level\":\"error\",\"msg\":\"a\\nb\",\"k\":\"\\u0001\"}");
}

TEST(Log, ParsesLevelsAndFormats) {
  EXPECT_EQ(ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("error"), LogLevel::kError);
  EXPECT_FALSE(ParseLogLevel("verbose"));
  EXPECT_EQ(ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_FALSE(ParseLogFormat("xml"));
}

}  // namespace
}  // namespace nfct
