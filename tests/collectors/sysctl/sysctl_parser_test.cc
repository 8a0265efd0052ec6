#include "collectors/sysctl/sysctl_parser.h"

#include <gtest/gtest.h>

namespace nfct {
namespace {

TEST(ParseSysctlNumber, Accepts) {
  // The kernel writes "%u\n", e.g. /proc/sys/net/netfilter/nf_conntrack_max → "262144\n".
  const std::pair<const char*, uint64_t> kAccept[] = {
      {"262144\n", 262144}, {"0\n", 0}, {"120", 120}, {"18446744073709551615\n", UINT64_MAX},
      {"7 \n", 7},
  };
  for (const auto& [text, value] : kAccept) EXPECT_EQ(ParseSysctlNumber(text), value) << text;
}

TEST(ParseSysctlNumber, Rejects) {
  for (const char* text :
       {"", "\n", "-1\n", "12a\n", "0x10\n", "1 2\n", "18446744073709551616", " 5\n", "abc"}) {
    EXPECT_FALSE(ParseSysctlNumber(text).has_value()) << text;
  }
}

TEST(ParseTimeoutName, MapsEverySysctlShape) {
  const std::tuple<const char*, const char*, const char*> kAccept[] = {
      {"nf_conntrack_tcp_timeout_time_wait", "tcp", "time_wait"},
      {"nf_conntrack_tcp_timeout_established", "tcp", "established"},
      {"nf_conntrack_udp_timeout", "udp", "default"},
      {"nf_conntrack_udp_timeout_stream", "udp", "stream"},
      {"nf_conntrack_generic_timeout", "generic", "default"},
      {"nf_conntrack_icmpv6_timeout", "icmpv6", "default"},
      {"nf_conntrack_sctp_timeout_heartbeat_sent", "sctp", "heartbeat_sent"},
      {"nf_conntrack_frag6_timeout", "frag6", "default"},
  };
  for (const auto& [file, protocol, state] : kAccept) {
    auto name = ParseTimeoutName(file);
    ASSERT_TRUE(name.has_value()) << file;
    EXPECT_EQ(name->protocol, protocol) << file;
    EXPECT_EQ(name->state, state) << file;
  }
}

TEST(ParseTimeoutName, RejectsOtherSysctls) {
  for (const char* file : {"nf_conntrack_max", "nf_conntrack_count", "nf_conntrack_tcp_loose",
                           "nf_conntrack_tcp_max_retrans", "nf_conntrack__timeout",
                           "nf_conntrack_tcp_timeout_", "nf_conntrack_tcp_timeoutx",
                           "ip_conntrack_tcp_timeout_time_wait", "nf_conntrack_TCP_timeout"}) {
    EXPECT_FALSE(ParseTimeoutName(file).has_value()) << file;
  }
}

}  // namespace
}  // namespace nfct
