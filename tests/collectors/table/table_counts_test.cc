// TableCounts: label vocabulary and the top-K selection with the rest in "other".
#include "collectors/table/table_counts.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

namespace nfct {
namespace {

TEST(TableCounts, LabelsAreTheFixedVocabulary) {
  EXPECT_EQ(FamilyLabel(kIpv4), "ipv4");
  EXPECT_EQ(FamilyLabel(kIpv6), "ipv6");
  const char* protocols[] = {"tcp", "udp", "icmp", "icmpv6", "sctp", "gre", "dccp", "other"};
  for (size_t p = 0; p < kTableProtocols; ++p) EXPECT_EQ(ProtocolLabel(p), protocols[p]);
  const char* tcp[] = {"none",       "syn_sent", "syn_recv",  "established", "fin_wait",
                       "close_wait", "last_ack", "time_wait", "close",       "syn_sent2"};
  ASSERT_EQ(StateCount(kTcp), 10u);
  for (size_t s = 0; s < 10; ++s) EXPECT_EQ(StateLabel(kTcp, s), tcp[s]);
  ASSERT_EQ(StateCount(kUdp), 3u);
  EXPECT_EQ(StateLabel(kUdp, kAssured), "assured");
  EXPECT_EQ(StateLabel(kGre, kReplied), "replied");
  EXPECT_EQ(StateLabel(kOtherProtocol, kUnreplied), "unreplied");
  EXPECT_EQ(ProtocolFromNumber(IPPROTO_ICMPV6), kIcmpv6);
  EXPECT_EQ(ProtocolFromNumber(IPPROTO_UDPLITE), kOtherProtocol);
  EXPECT_EQ(PortSlot(kGre), -1);
  for (size_t slot = 0; slot < kPortProtocols; ++slot) {
    EXPECT_EQ(PortSlot(PortSlotProtocol(slot)), static_cast<int>(slot));
  }
}

TEST(TableCounts, TopKeepsTheLargestAndSumsTheRest) {
  TableCounts counts;
  auto add = [&](uint16_t port, int n) {
    for (int i = 0; i < n; ++i) counts.Add(kIpv4, kUdp, kUnreplied, port);
  };
  add(53, 50);
  add(123, 20);
  add(443, 20);  // ties with 123: the lower port wins
  add(65535, 30);
  add(0, 5);
  for (uint16_t port = 1000; port < 1100; ++port) add(port, 1);
  TopPorts top = counts.Top(1, 3);
  std::vector<PortCount> expected = {{53, 50}, {65535, 30}, {123, 20}};
  EXPECT_EQ(top.top, expected);
  EXPECT_EQ(top.other, 20u + 5u + 100u);
  EXPECT_EQ(counts.Top(0, 3).top.size(), 0u);  // no TCP entries
  EXPECT_EQ(counts.Top(0, 3).other, 0u);

  TopPorts none = counts.Top(1, 0);
  EXPECT_TRUE(none.top.empty());
  EXPECT_EQ(none.other, 225u);
  EXPECT_EQ(counts.Top(1, 1000).top.size(), 105u);
  EXPECT_EQ(counts.Top(1, 1000).other, 0u);
}

TEST(TableCounts, ResetClearsEverything) {
  TableCounts counts;
  counts.Add(kIpv6, kTcp, 7, 80);
  counts.Add(kIpv6, kGre, kAssured, 0);
  EXPECT_EQ(counts.Total(), 2u);
  EXPECT_EQ(counts.Entries(kIpv6, kTcp, 7), 1u);
  counts.Reset();
  EXPECT_EQ(counts.Total(), 0u);
  EXPECT_EQ(counts.Top(0, 10).other, 0u);
  EXPECT_TRUE(counts.Top(0, 10).top.empty());
}

}  // namespace
}  // namespace nfct
