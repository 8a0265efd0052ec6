// Table tests of the kernel-message matcher: every known kernel wording must be accepted, and the
// "must reject" table holds what must never count; /dev/kmsg records counted by facility.
#include "collectors/kmsg/kmsg_match.h"

#include <gtest/gtest.h>

namespace nfct {
namespace {

struct MatchCase {
  std::string_view text;
  LogMatch want;
};

TEST(MatchKernelMessage, AcceptsEveryKnownFormat) {
  const MatchCase kAccept[] = {
      // 2.6 - ~3.4
      {"nf_conntrack: table full, dropping packet.", {LogEvent::kTableFull, {}, 0}},
      {"ip_conntrack: table full, dropping packet.", {LogEvent::kTableFull, {}, 0}},
      // ~3.5 - ~4.8
      {"nf_conntrack: table full, dropping packet", {LogEvent::kTableFull, {}, 0}},
      // ~4.9 - 6.16, and the initial netns on 6.17+
      {"nf_conntrack: nf_conntrack: table full, dropping packet", {LogEvent::kTableFull, {}, 0}},
      // 6.17+ other netns (6.18: "4,339,585401705,-;nf_conntrack: nf_conntrack: table full in
      // netns 4026532177, dropping packet")
      {"nf_conntrack: nf_conntrack: table full in netns 4026532177, dropping packet",
       {LogEvent::kTableFull, 4026532177u, 0}},
      {"nf_conntrack: table full in netns 1, dropping packet", {LogEvent::kTableFull, 1u, 0}},
      {"nf_conntrack: expectation table full", {LogEvent::kExpectationTableFull, {}, 0}},
      {"nf_conntrack: nf_conntrack: expectation table full",
       {LogEvent::kExpectationTableFull, {}, 0}},
      {"net_ratelimit: 137846 callbacks suppressed", {LogEvent::kSuppressed, {}, 137846}},
      {"__ratelimit: 12 callbacks suppressed", {LogEvent::kSuppressed, {}, 12}},
      {"printk: 7 messages suppressed.", {LogEvent::kSuppressed, {}, 7}},
      // Trailing whitespace (a syslog file with CRLF, the kmsg newline) is not part of the text.
      {"nf_conntrack: nf_conntrack: table full, dropping packet\r\n",
       {LogEvent::kTableFull, {}, 0}},
      {"net_ratelimit: 0 callbacks suppressed  ", {LogEvent::kSuppressed, {}, 0}},
  };
  for (const auto& c : kAccept) {
    EXPECT_EQ(MatchKernelMessage(c.text), c.want) << c.text;
  }
}

TEST(MatchKernelMessage, RejectsLinesThatMerelyContainTheWords) {
  const std::string_view kReject[] = {
      "",
      "table full, dropping packet",  // no subsystem prefix
      "nf_conntrack: nf_conntrack: nf_conntrack: table full, dropping packet",
      "foo: nf_conntrack: table full, dropping packet",
      " nf_conntrack: table full, dropping packet",
      "nf_conntrack: table full, dropping packet and more",
      "nf_conntrack: table full, dropping packet..",
      "nf_conntrack: table full in netns , dropping packet",
      "nf_conntrack: table full in netns 12a, dropping packet",
      "nf_conntrack: table full in netns 99999999999999999999999, dropping packet",
      "nf_conntrack: table full in netns 12, dropping packet.",
      "nf_conntrack: table full",
      "nf_conntrack:table full, dropping packet",
      "nf_conntrack: expectation table full, dropping packet",
      "nf_conntrack: falling back to vmalloc.",
      "nf_conntrack version 0.5.0 (65536 buckets, 262144 max)",
      "net_ratelimit: callbacks suppressed",
      "net_ratelimit: -1 callbacks suppressed",
      "net_ratelimit: 12 callbacks suppressed by me",
      "net_ratelimit: 99999999999999999999999 callbacks suppressed",
      "printk: 7 messages suppressed",
      "ratelimit: 12 callbacks suppressed",
      "audit: nf_conntrack: table full, dropping packet",
  };
  for (auto text : kReject) {
    EXPECT_EQ(MatchKernelMessage(text).event, LogEvent::kNone) << text;
  }
}

TEST(ClassifyKmsgRecord, CountsOnlyTheKernelFacility) {
  // root can write this into /dev/kmsg; it arrives with facility 1 (prio 12), never 0.
  auto spoofed = ClassifyKmsgRecord(
      "12,900,100,-;nf_conntrack: nf_conntrack: table full, "
      "dropping packet\n");
  ASSERT_TRUE(spoofed.parse.ok());
  EXPECT_EQ(spoofed.match.event, LogEvent::kNone);
  auto local7 = ClassifyKmsgRecord("188,901,100,-;nf_conntrack: table full, dropping packet\n");
  EXPECT_EQ(local7.match.event, LogEvent::kNone);
  auto real = ClassifyKmsgRecord("4,902,100,-;nf_conntrack: table full, dropping packet\n");
  EXPECT_EQ(real.match.event, LogEvent::kTableFull);
  // Level does not matter, only facility 0.
  auto debug = ClassifyKmsgRecord("7,903,100,-;nf_conntrack: table full, dropping packet\n");
  EXPECT_EQ(debug.match.event, LogEvent::kTableFull);
  EXPECT_EQ(ClassifyKmsgRecord("4,904,100,-;nf_conntrack: table full").match.event,
            LogEvent::kNone);
}

TEST(ClassifyKmsgRecord, DecodesEscapes) {
  auto escaped = ClassifyKmsgRecord("4,1,2,-;nf_conntrack: table full,\\x20dropping packet\\x0a\n");
  EXPECT_EQ(escaped.match.event, LogEvent::kTableFull);
  EXPECT_EQ(UnescapeKmsgText("a\\x5cb\\x1b\\xzz\\x4"), std::string("a\\b\x1b\\xzz\\x4"));
  EXPECT_EQ(UnescapeKmsgText("\\x00"), std::string(1, '\0'));
}

TEST(SmallParsers, KernelReleaseAndJournaldMissed) {
  EXPECT_EQ(ParseKernelRelease("6.18.44-fc-v782\n"), (KernelVersion{6, 18}));
  EXPECT_EQ(ParseKernelRelease("2.6.32-754.el6.x86_64"), (KernelVersion{2, 6}));
  EXPECT_EQ(ParseKernelRelease("6.17"), (KernelVersion{6, 17}));
  EXPECT_FALSE(ParseKernelRelease("linux"));
  EXPECT_FALSE(ParseKernelRelease("6"));
  EXPECT_EQ(ParseJournaldMissed("Missed 12 kernel messages"), 12u);
  EXPECT_FALSE(ParseJournaldMissed("Missed kernel messages"));
  EXPECT_FALSE(ParseJournaldMissed("Suppressed 12 messages from foo.service"));
}

}  // namespace
}  // namespace nfct
