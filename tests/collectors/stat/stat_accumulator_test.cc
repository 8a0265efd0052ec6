#include "collectors/stat/stat_accumulator.h"

#include <gtest/gtest.h>

namespace nfct {
namespace {

StatTable Table(std::vector<std::vector<uint32_t>> rows) {
  return {{"entries", "drop"}, std::move(rows)};
}

TEST(StatAccumulator, FirstReadingIsThePlainSum) {
  StatAccumulator acc;
  auto totals = acc.Update(Table({{5, 0xffffffff}, {5, 2}}));
  EXPECT_EQ(totals.at("drop"), 0x100000001ull);  // summed in 64 bits, no overflow
  EXPECT_FALSE(totals.contains("entries"));      // the netns total is never summed
}

TEST(StatAccumulator, PerCpuWrapKeepsTheTotalMonotonic) {
  StatAccumulator acc;
  acc.Update(Table({{0, 0xfffffff0}, {0, 10}}));
  // CPU 0 wrapped past 2^32 (+0x20), CPU 1 moved +5.
  auto totals = acc.Update(Table({{0, 0x00000010}, {0, 15}}));
  EXPECT_EQ(totals.at("drop"), 0xfffffff0ull + 10 + 0x20 + 5);
  totals = acc.Update(Table({{0, 0x00000010}, {0, 15}}));
  EXPECT_EQ(totals.at("drop"), 0xfffffff0ull + 10 + 0x20 + 5);  // no change, no growth
}

TEST(StatAccumulator, ANewCpuCountsFromZero) {
  StatAccumulator acc;
  acc.Update(Table({{0, 7}}));
  auto totals = acc.Update(Table({{0, 7}, {0, 3}}));
  EXPECT_EQ(totals.at("drop"), 10u);
}

}  // namespace
}  // namespace nfct
