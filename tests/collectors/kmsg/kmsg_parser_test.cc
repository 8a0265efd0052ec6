// Table tests of the kmsg parser and matcher: every known kernel format must be accepted, and
// the "must reject" tables hold what must never count.
#include "collectors/kmsg/kmsg_parser.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

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

struct RecordCase {
  std::string_view data;
  uint32_t prio;
  uint64_t seq;
  uint64_t ts_usec;
  std::string_view text;
};

TEST(ParseKmsgRecord, AcceptsHeadersOfEveryKernel) {
  const RecordCase kAccept[] = {
      // 6.18, real record
      {"4,339,585401705,-;nf_conntrack: nf_conntrack: table full in netns 4026532177, dropping "
       "packet\n",
       4, 339, 585401705,
       "nf_conntrack: nf_conntrack: table full in netns 4026532177, dropping packet"},
      // 3.5 had no flags field
      {"4,12,345;ip_conntrack: table full, dropping packet.\n", 4, 12, 345,
       "ip_conntrack: table full, dropping packet."},
      // 5.1+ with CONFIG_PRINTK_CALLER; unknown fields are ignored
      {"6,1,2,-,caller=T123,future=x;hello\n", 6, 1, 2, "hello"},
      // continuation lines carry device data
      {"5,335,1260958,-;virtio_blk virtio1: [vda] new size\n SUBSYSTEM=virtio\n "
       "DEVICE=+virtio:virtio1\n",
       5, 335, 1260958, "virtio_blk virtio1: [vda] new size"},
      {"12,7,8,-;spoofed;with;semicolons\n", 12, 7, 8, "spoofed;with;semicolons"},
      {"0,18446744073709551615,0,-;\n", 0, 18446744073709551615u, 0, ""},
  };
  for (const auto& c : kAccept) {
    KmsgParse parse = ParseKmsgRecord(c.data);
    ASSERT_TRUE(parse.ok()) << c.data << ": " << KmsgErrorName(parse.error);
    EXPECT_EQ(parse.record.prio, c.prio) << c.data;
    EXPECT_EQ(parse.record.seq, c.seq) << c.data;
    EXPECT_EQ(parse.record.ts_usec, c.ts_usec) << c.data;
    EXPECT_EQ(parse.record.text, c.text) << c.data;
  }
}

TEST(ParseKmsgRecord, RejectsMalformedRecords) {
  const std::pair<std::string_view, KmsgError> kReject[] = {
      {"", KmsgError::kEmpty},
      {"4,339,585401705,-nf_conntrack: table full, dropping packet\n", KmsgError::kNoSemicolon},
      {"4,339,585401705,-", KmsgError::kNoSemicolon},
      {"x,1,2,-;text\n", KmsgError::kBadPrio},
      {",1,2,-;text\n", KmsgError::kBadPrio},
      {"-4,1,2,-;text\n", KmsgError::kBadPrio},
      {"2048,1,2,-;text\n", KmsgError::kBadPrio},
      {"99999999999,1,2,-;text\n", KmsgError::kBadPrio},
      {"4;text\n", KmsgError::kBadSeq},
      {"4,,2,-;text\n", KmsgError::kBadSeq},
      {"4,1a,2,-;text\n", KmsgError::kBadSeq},
      {"4,18446744073709551616,2,-;text\n", KmsgError::kBadSeq},
      {"4,1;text\n", KmsgError::kBadTimestamp},
      {"4,1,,-;text\n", KmsgError::kBadTimestamp},
      {"4,1,2x,-;text\n", KmsgError::kBadTimestamp},
      {"4,1,2,-;nf_conntrack: nf_conntrack: table full, dropping packet", KmsgError::kTruncated},
  };
  for (const auto& [data, error] : kReject) {
    EXPECT_EQ(ParseKmsgRecord(data).error, error) << data;
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

TEST(ParseSyslogKernelLine, AcceptsRsyslogPrefixes) {
  struct Case {
    std::string_view line;
    std::string_view message;
    SyslogTime time;
  };
  const Case kAccept[] = {
      {"Jun  8 10:48:13 gw1 kernel: [12345.678901] nf_conntrack: table full, dropping packet",
       "nf_conntrack: table full, dropping packet",
       {0, 6, 8, 10, 48, 13, 0, std::nullopt}},
      {"Jun 08 10:48:13 gw1 kernel: nf_conntrack: expectation table full",
       "nf_conntrack: expectation table full",
       {0, 6, 8, 10, 48, 13, 0, std::nullopt}},
      {"Dec 31 23:59:59 gw1 kernel: [    1.0] [    T1] net_ratelimit: 5 callbacks suppressed",
       "net_ratelimit: 5 callbacks suppressed",
       {0, 12, 31, 23, 59, 59, 0, std::nullopt}},
      {"2025-06-08T10:48:13.5+02:00 gw1 kernel: [1.0] hello",
       "hello",
       {2025, 6, 8, 10, 48, 13, 0.5, 7200}},
      {"2025-06-08T10:48:13Z gw1 kernel: hello", "hello", {2025, 6, 8, 10, 48, 13, 0, 0}},
      {"2025-06-08T10:48:13-05:30 gw1 kernel: hello", "hello", {2025, 6, 8, 10, 48, 13, 0, -19800}},
      {"<4>Jun  8 10:48:13 gw1 kernel: hello\r", "hello", {0, 6, 8, 10, 48, 13, 0, std::nullopt}},
  };
  for (const auto& c : kAccept) {
    auto parsed = ParseSyslogKernelLine(c.line);
    ASSERT_TRUE(parsed) << c.line;
    EXPECT_EQ(parsed->message, c.message) << c.line;
    EXPECT_EQ(parsed->time, c.time) << c.line;
  }
}

TEST(ParseSyslogKernelLine, RejectsOtherTagsAndPrefixes) {
  const std::string_view kReject[] = {
      "Jun  8 10:48:19 gw1 sshd[812]: nf_conntrack: table full, dropping packet",
      "Jun  8 10:48:19 gw1 logger: nf_conntrack: table full, dropping packet",
      "Jun  8 10:48:19 gw1 kernel[0]: nf_conntrack: table full, dropping packet",
      "Jun  8 10:48:19 gw1 mykernel: nf_conntrack: table full, dropping packet",
      "Jun  8 10:48:19 kernel: nf_conntrack: table full, dropping packet",  // no host
      "<12>Jun  8 10:48:19 gw1 kernel: nf_conntrack: table full, dropping packet",
      "Foo  8 10:48:19 gw1 kernel: nf_conntrack: table full, dropping packet",
      "Jun 32 10:48:19 gw1 kernel: nf_conntrack: table full, dropping packet",
      "Jun  8 10:48 gw1 kernel: nf_conntrack: table full, dropping packet",
      "2025-13-08T10:48:13Z gw1 kernel: x",
      "2025-06-08 10:48:13 gw1 kernel: x",
      "2025-06-08T10:48:13 gw1 kernel: x",  // RFC 3339 needs a zone
      "nf_conntrack: table full, dropping packet",
      "",
  };
  for (auto line : kReject) EXPECT_FALSE(ParseSyslogKernelLine(line)) << line;
}

TEST(SyslogTimeToEpoch, ZonedAndLocalTimes) {
  setenv("TZ", "UTC", 1);
  tzset();
  EXPECT_DOUBLE_EQ(SyslogTimeToEpoch({2025, 6, 8, 10, 48, 13, 0.5, 7200}, 0), 1749372493.5);
  const double now = 1749372493;  // 2025-06-08T08:48:13Z
  EXPECT_DOUBLE_EQ(SyslogTimeToEpoch({0, 6, 8, 8, 48, 13, 0, std::nullopt}, now), now);
  // Read on 8 June, a line from 31 December is last year's.
  EXPECT_DOUBLE_EQ(SyslogTimeToEpoch({0, 12, 31, 23, 0, 0, 0, std::nullopt}, now), 1735686000);
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
