#include "collectors/stat/stat_parser.h"

#include <gtest/gtest.h>

#include <set>

#include "collectors/stat/stat_counters.h"

namespace nfct {
namespace {

StatTable MustParse(std::string_view text) {
  auto parsed = ParseStatTable(text);
  if (auto* error = std::get_if<StatParseError>(&parsed)) {
    ADD_FAILURE() << error->message;
    return {};
  }
  return std::get<StatTable>(parsed);
}

struct HeaderCase {
  const char* kernel;
  const char* header;
  size_t columns;
};

// One case per kernel header variant; a row of ascending values follows each.
TEST(ParseStatTable, AcceptsEveryKnownHeader) {
  const HeaderCase kCases[] = {
      {"<= 5.9",
       "entries  searched found new invalid ignore delete delete_list insert "
       "insert_failed drop early_drop icmp_error  expect_new expect_create "
       "expect_delete search_restart",
       17},
      {"5.10-5.14",
       "entries  clashres found new invalid ignore delete delete_list insert "
       "insert_failed drop early_drop icmp_error  expect_new expect_create "
       "expect_delete search_restart",
       17},
      {">= 5.15 (6.18 here)",
       "entries  clashres found new invalid ignore delete chainlength "
       "insert insert_failed drop early_drop icmp_error  expect_new "
       "expect_create expect_delete search_restart",
       17},
      {"very old (16 columns)",
       "entries  searched found new invalid ignore delete delete_list "
       "insert insert_failed drop early_drop icmp_error  expect_new "
       "expect_create expect_delete",
       16},
  };
  for (const auto& c : kCases) {
    std::string text = std::string(c.header) + "\n";
    for (int cpu = 0; cpu < 2; ++cpu) {
      for (size_t i = 0; i < c.columns; ++i) text += (i ? " " : "") + std::string("0000000a");
      text += "\n";
    }
    StatTable table = MustParse(text);
    EXPECT_EQ(table.columns.size(), c.columns) << c.kernel;
    EXPECT_EQ(table.rows.size(), 2u) << c.kernel;
    EXPECT_EQ(table.rows[1][c.columns - 1], 10u) << c.kernel;
  }
}

TEST(ParseStatTable, ReadsHexAndFindsColumnsByName) {
  StatTable table = MustParse(
      "entries  drop early_drop\n"
      "00040000  ffffffff 0000001A\n"
      "00040000  00000001 00000000\n");
  ASSERT_EQ(table.columns, (std::vector<std::string>{"entries", "drop", "early_drop"}));
  EXPECT_EQ(table.rows[0][1], 0xffffffffu);
  EXPECT_EQ(table.rows[0][2], 26u);
  EXPECT_EQ(table.rows[1][0], 0x40000u);
}

TEST(ParseStatTable, RejectsMalformedInput) {
  const std::pair<const char*, const char*> kReject[] = {
      {"", "empty file"},
      {"\n", "empty header line"},
      {"entries drop\n", "no CPU rows after the header"},
      {"entries drop\n00000001\n", "line 2 has 1 fields, header has 2"},
      {"entries drop\n00000001 00000002 00000003\n", "line 2 has 3 fields, header has 2"},
      {"entries drop\n00000001 0000000g\n", "line 2 field \"0000000g\" is not 32-bit hex"},
      {"entries drop\n00000001 100000000\n", "line 2 field \"100000000\" is not 32-bit hex"},
      {"entries drop\n00000001 -0000001\n", "line 2 field \"-0000001\" is not 32-bit hex"},
      {"entries 0drop\n00000001 00000001\n", "header field \"0drop\" is not a name"},
      // Found by the fuzzer: a repeated column was folded twice, +2^32 per scrape.
      {"entries drop early_drop drop\n00000001 00000002 00000003 00000004\n",
       "header names column \"drop\" twice"},
      {"entries drop\n00000001 00000002\n\n00000001 00000002\n",
       "line 3 has 0 fields, header has 2"},
  };
  for (const auto& [text, message] : kReject) {
    auto parsed = ParseStatTable(text);
    ASSERT_TRUE(std::holds_alternative<StatParseError>(parsed)) << text;
    EXPECT_EQ(std::get<StatParseError>(parsed).message, message) << text;
  }
}

TEST(ParseStatTable, SurvivesAHugeTable) {
  std::string text = "entries drop\n";
  for (int i = 0; i < 100000; ++i) text += "00000001 00000002\n";
  EXPECT_EQ(MustParse(text).rows.size(), 100000u);
}

TEST(StatCounters, MapRenamedColumnsToTheirMetric) {
  EXPECT_EQ(FindStatCounter("clashres")->family.name, "nf_conntrack_stat_clash_resolve_total");
  EXPECT_EQ(FindStatCounter("chainlength")->family.name, "nf_conntrack_stat_chaintoolong_total");
  EXPECT_EQ(FindStatCounter("drop")->family.name, "nf_conntrack_stat_drop_total");
  EXPECT_EQ(FindStatCounter("entries"), nullptr);  // never summed
  EXPECT_EQ(FindStatCounter("future_column"), nullptr);
}

TEST(StatCounters, EachColumnAndEachNetlinkAttributeOnce) {
  std::set<std::string_view> columns;
  std::set<std::pair<StatDump, int>> attributes;
  for (const auto& counter : StatCounters()) {
    EXPECT_TRUE(columns.insert(counter.column).second) << counter.column;
    if (counter.dump == StatDump::kNone) {
      EXPECT_EQ(counter.attribute, 0) << counter.column;
      continue;
    }
    EXPECT_GT(counter.attribute, 0) << counter.column;
    EXPECT_TRUE(attributes.insert({counter.dump, counter.attribute}).second) << counter.column;
  }
  EXPECT_EQ(attributes.size(), 13u);  // 10 CTA_STATS_* and 3 CTA_STATS_EXP_* on 6.x
}

}  // namespace
}  // namespace nfct
