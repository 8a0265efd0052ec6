// The shared text helpers: whole-string integers and procfs hex, with what they must reject.
#include "collectors/text.h"

#include <gtest/gtest.h>

namespace nfct {
namespace {

TEST(ParseInteger, TakesTheWholeStringOrNothing) {
  EXPECT_EQ(ParseInteger<uint64_t>("0"), 0u);
  EXPECT_EQ(ParseInteger<uint64_t>("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(ParseInteger<int>("-12"), -12);
  EXPECT_EQ(ParseInteger<uint8_t>("255"), 255);
  for (std::string_view bad :
       {"", " 1", "1 ", "1\n", "+1", "-1", "1e6", "0x10", "ten", "18446744073709551616"}) {
    EXPECT_FALSE(ParseInteger<uint64_t>(bad).has_value()) << bad;
  }
  EXPECT_FALSE(ParseInteger<uint8_t>("256").has_value());
}

TEST(ParseHex32, ReadsProcfsHexFields) {
  EXPECT_EQ(ParseHex32("00000000"), 0u);
  EXPECT_EQ(ParseHex32("ffffffff"), 0xffffffffu);
  EXPECT_EQ(ParseHex32("DeadBeef"), 0xdeadbeefu);
  EXPECT_EQ(ParseHex32("1"), 1u);
  for (std::string_view bad : {"", "100000000", "0x1", "-1", "+1", " 1", "1g", "fffffffff"}) {
    EXPECT_FALSE(ParseHex32(bad).has_value()) << bad;
  }
}

}  // namespace
TEST(TakeLine, WalksLinesWithOrWithoutAFinalNewline) {
  // /proc/self/mountinfo and /proc/net/stat/nf_conntrack end with "\n"; a truncated read may not.
  for (std::string_view file : {"a b\n\nc\n", "a b\n\nc"}) {
    std::string_view rest = file;
    EXPECT_EQ(TakeLine(rest), "a b");
    EXPECT_EQ(TakeLine(rest), "");
    EXPECT_EQ(TakeLine(rest), "c");
    EXPECT_TRUE(rest.empty()) << file;
  }
  std::string_view empty;
  EXPECT_EQ(TakeLine(empty), "");
}

}  // namespace nfct
