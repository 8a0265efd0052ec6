// Table tests of the syslog kernel-line parser: rsyslog's prefixes accepted, other tags and
// prefixes rejected, and the stated times turned into epoch seconds.
#include "collectors/kmsg/kmsg_syslog_line.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

namespace nfct {
namespace {

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

}  // namespace
}  // namespace nfct
