// The tally's rules: which lines count, which netns label a line gets on which kernel, and the
// bound on netns series.
#include "collectors/kmsg/kmsg_tally.h"

#include <gtest/gtest.h>

namespace nfct {
namespace {

using Key = std::pair<std::string, std::string>;

TEST(KernelNamesNonInitNetns, From617On) {
  EXPECT_FALSE(KernelNamesNonInitNetns(std::nullopt));
  EXPECT_FALSE(KernelNamesNonInitNetns(KernelVersion{6, 16}));
  EXPECT_FALSE(KernelNamesNonInitNetns(KernelVersion{5, 15}));
  EXPECT_TRUE(KernelNamesNonInitNetns(KernelVersion{6, 17}));
  EXPECT_TRUE(KernelNamesNonInitNetns(KernelVersion{6, 18}));
  EXPECT_TRUE(KernelNamesNonInitNetns(KernelVersion{7, 0}));
}

TEST(KmsgTally, NetnsLabelFollowsTheKernelVersion) {
  const LogMatch kNoNetns{LogEvent::kTableFull, {}, 0};
  const LogMatch kNetns{LogEvent::kTableFull, 4026532177u, 0};
  const LogMatch kExpectation{LogEvent::kExpectationTableFull, {}, 0};

  KmsgTally new_kernel(true);
  new_kernel.Observe(kNoNetns, 10, true);
  new_kernel.Observe(kNetns, 11, true);
  new_kernel.Observe(kNetns, 12, true);
  new_kernel.Observe(kExpectation, 13, true);
  std::map<Key, uint64_t> want_new = {{{"table_full", "init"}, 1},
                                      {{"table_full", "4026532177"}, 2},
                                      {{"expectation_table_full", "unknown"}, 1}};
  EXPECT_EQ(new_kernel.snapshot().messages, want_new);

  KmsgTally old_kernel(false);
  old_kernel.Observe(kNoNetns, 10, true);
  old_kernel.Observe(kExpectation, 13, true);
  std::map<Key, uint64_t> want_old = {{{"table_full", "unknown"}, 1},
                                      {{"expectation_table_full", "unknown"}, 1}};
  EXPECT_EQ(old_kernel.snapshot().messages, want_old);
}

TEST(KmsgTally, BacklogOnlySetsLastSeen) {
  KmsgTally tally(true);
  tally.Observe({LogEvent::kTableFull, 5u, 0}, 100, false);
  tally.Observe({LogEvent::kSuppressed, {}, 40}, 101, false);
  EXPECT_EQ(tally.snapshot().messages.at({"table_full", "init"}), 0u);
  EXPECT_FALSE(tally.snapshot().messages.contains({"table_full", "5"}));
  EXPECT_EQ(tally.snapshot().suppressed, 0u);
  EXPECT_EQ(tally.snapshot().last_seen.at("table_full"), 100);

  tally.Observe({LogEvent::kTableFull, 5u, 0}, 90, true);  // out of order: keep the latest
  tally.Observe({LogEvent::kSuppressed, {}, 40}, 101, true);
  tally.AddLost(3);
  EXPECT_EQ(tally.snapshot().messages.at({"table_full", "5"}), 1u);
  EXPECT_EQ(tally.snapshot().last_seen.at("table_full"), 100);
  EXPECT_EQ(tally.snapshot().suppressed, 40u);
  EXPECT_EQ(tally.snapshot().lost, 3u);
  EXPECT_FALSE(tally.snapshot().last_seen.contains("expectation_table_full"));
}

TEST(KmsgTally, BoundsNetnsSeries) {
  KmsgTally tally(true);
  for (uint64_t inode = 1; inode <= KmsgTally::kMaxNetnsLabels + 5; ++inode) {
    tally.Observe({LogEvent::kTableFull, inode, 0}, 1, true);
  }
  tally.Observe({LogEvent::kTableFull, 1u, 0}, 1, true);  // a known one keeps its series
  const auto& messages = tally.snapshot().messages;
  EXPECT_EQ(messages.at({"table_full", "other"}), 5u);
  EXPECT_EQ(messages.at({"table_full", "1"}), 2u);
  EXPECT_EQ(messages.size(), KmsgTally::kMaxNetnsLabels + 3);  // + init, other, expectation
}

}  // namespace
}  // namespace nfct
