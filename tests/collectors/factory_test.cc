#include "collectors/factory.h"

#include <gtest/gtest.h>

namespace nfct {
namespace {

using std::chrono_literals::operator""s;

const std::vector<CollectorOption> kDeclared = {
    {"interval", "30s", "How often.", OptionType::kDuration},
    {"top", "10", "How many.", OptionType::kCount, 1000},
    {"source", "/dev/kmsg", "Where from."},
    {"budget", "0.05", "How much.", OptionType::kRatio},
};

TEST(CollectorOptions, DefaultsFilledInAndTyped) {
  auto checked = CollectorOptions::Check("demo", kDeclared, {});
  ASSERT_EQ(checked.error, "");
  EXPECT_EQ(checked.options.Duration("interval"), 30s);
  EXPECT_EQ(checked.options.Count("top"), 10u);
  EXPECT_EQ(checked.options.Text("source"), "/dev/kmsg");
  EXPECT_EQ(checked.options.Ratio("budget"), 0.05);
}

TEST(CollectorOptions, GivenValuesWin) {
  auto checked = CollectorOptions::Check(
      "demo", kDeclared,
      {{"interval", "1h30m"}, {"top", "1000"}, {"source", "journald"}, {"budget", "1"}});
  ASSERT_EQ(checked.error, "");
  EXPECT_EQ(checked.options.Duration("interval"), 5400s);
  EXPECT_EQ(checked.options.Count("top"), 1000u);
  EXPECT_EQ(checked.options.Text("source"), "journald");
  EXPECT_EQ(checked.options.Ratio("budget"), 1.0);
}

TEST(CollectorOptions, OneErrorFormatNamingTheFlag) {
  const std::pair<OptionValues, std::string> kBad[] = {
      {{{"interval", "30"}},
       "--collector.demo.interval: must be a positive duration such as 30s or 500ms"},
      {{{"interval", "0s"}},
       "--collector.demo.interval: must be a positive duration such as 30s or 500ms"},
      {{{"interval", ""}},
       "--collector.demo.interval: must be a positive duration such as 30s or 500ms"},
      {{{"top", "1001"}}, "--collector.demo.top: must be a whole number from 0 to 1000"},
      {{{"top", "-1"}}, "--collector.demo.top: must be a whole number from 0 to 1000"},
      {{{"top", " 3"}}, "--collector.demo.top: must be a whole number from 0 to 1000"},
      {{{"top", "3\n"}}, "--collector.demo.top: must be a whole number from 0 to 1000"},
      {{{"nope", "1"}}, "--collector.demo.nope: unknown flag (see --help)"},
      {{{"budget", "0"}},
       "--collector.demo.budget: must be a share of one above 0, at most 1, such as 0.05"},
      {{{"budget", "1.01"}},
       "--collector.demo.budget: must be a share of one above 0, at most 1, such as 0.05"},
      {{{"budget", "nan"}},
       "--collector.demo.budget: must be a share of one above 0, at most 1, such as 0.05"},
      {{{"budget", "5%"}},
       "--collector.demo.budget: must be a share of one above 0, at most 1, such as 0.05"},
  };
  for (const auto& [given, error] : kBad) {
    EXPECT_EQ(CollectorOptions::Check("demo", kDeclared, given).error, error);
  }
}

TEST(CollectorOptions, AnInvalidDeclaredDefaultIsAnError) {
  const std::vector<CollectorOption> broken = {{"top", "many", "How many.", OptionType::kCount}};
  EXPECT_EQ(CollectorOptions::Check("demo", broken, {}).error,
            "--collector.demo.top: must be a whole number from 0 to 4294967295");
}

TEST(CollectorOptions, ReadingAnUndeclaredOrMistypedOptionThrows) {
  auto checked = CollectorOptions::Check("demo", kDeclared, {});
  EXPECT_THROW(checked.options.Count("interval"), std::bad_variant_access);
  EXPECT_THROW(checked.options.Duration("nope"), std::out_of_range);
}

}  // namespace
}  // namespace nfct
