#include "exporter/self_metrics.h"

#include <gtest/gtest.h>

namespace nfct {
namespace {

TEST(ParseProcessStat, ReadsFieldsAfterTheCommandName) {
  // /proc/self/stat of a process whose name holds spaces and a parenthesis.
  std::string_view line =
      "4242 (nf exporter) x) S 1 4242 4242 0 -1 4194560 1200 0 0 0 250 50 0 0 20 0 9 0 "
      "123456 104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  ProcessStat stat;
  ASSERT_TRUE(ParseProcessStat(line, 100, 4096, stat));
  EXPECT_DOUBLE_EQ(stat.cpu_seconds, 3.0);  // (250 + 50) ticks / 100
  EXPECT_DOUBLE_EQ(stat.start_ticks, 123456);
  EXPECT_DOUBLE_EQ(stat.virtual_bytes, 104857600);
  EXPECT_DOUBLE_EQ(stat.resident_bytes, 2560.0 * 4096);
}

TEST(ParseProcessStat, RejectsTruncatedOrGarbage) {
  ProcessStat stat;
  EXPECT_FALSE(ParseProcessStat("", 100, 4096, stat));
  EXPECT_FALSE(ParseProcessStat("1 (x) S 1 2 3", 100, 4096, stat));
  EXPECT_FALSE(ParseProcessStat("no parenthesis at all", 100, 4096, stat));
  EXPECT_FALSE(ParseProcessStat("1 (x) S 1 1 1 0 -1 0 0 0 0 0 ab 50 0 0 20 0 9 0 1 1 1 1 1 1 0 0",
                                100, 4096, stat));
}

}  // namespace
}  // namespace nfct
