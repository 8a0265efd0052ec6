#include "exporter/flags.h"

#include <gtest/gtest.h>

namespace nfct {
namespace {

std::vector<CollectorEntry> TestCollectors() {
  auto none = [](const Env&, const OptionValues&) { return MadeCollector{}; };
  return {{"sysctl", true, "s", {}, none},
          {"table", false, "t", {{"interval", "30s", "How often."}}, none}};
}

ParsedFlags Parse(std::vector<std::string> args) { return ParseFlags(args, TestCollectors()); }

TEST(Flags, Defaults) {
  auto [flags, error] = Parse({});
  ASSERT_EQ(error, "");
  EXPECT_EQ(flags.listen_addresses, std::vector<std::string>{":9725"});
  EXPECT_EQ(flags.telemetry_path, "/metrics");
  EXPECT_EQ(flags.procfs, "/proc");
  EXPECT_TRUE(flags.collector_enabled.at("sysctl"));
  EXPECT_FALSE(flags.collector_enabled.at("table"));
  EXPECT_EQ(flags.collector_options.at("table").at("interval"), "30s");
}

TEST(Flags, BothSpellingsAndRepeats) {
  auto [flags, error] = Parse({"--web.listen-address=:1", "--web.listen-address", "[::1]:2",
                               "--path.procfs", "/host/proc", "--log.level=debug",
                               "--log.format=json", "--collector.table.interval=2m"});
  ASSERT_EQ(error, "");
  EXPECT_EQ(flags.listen_addresses, (std::vector<std::string>{":1", "[::1]:2"}));
  EXPECT_EQ(flags.procfs, "/host/proc");
  EXPECT_EQ(flags.log_level, LogLevel::kDebug);
  EXPECT_EQ(flags.log_format, LogFormat::kJson);
  EXPECT_EQ(flags.collector_options.at("table").at("interval"), "2m");
}

TEST(Flags, CollectorSwitches) {
  EXPECT_FALSE(Parse({"--no-collector.sysctl"}).flags.collector_enabled.at("sysctl"));
  EXPECT_TRUE(Parse({"--collector.table"}).flags.collector_enabled.at("table"));
  EXPECT_FALSE(Parse({"--collector.sysctl=false"}).flags.collector_enabled.at("sysctl"));
  auto only_table = Parse({"--collector.disable-defaults", "--collector.table"}).flags;
  EXPECT_FALSE(only_table.collector_enabled.at("sysctl"));
  EXPECT_TRUE(only_table.collector_enabled.at("table"));
  // Order does not matter: an explicit switch wins over disable-defaults.
  auto explicit_first = Parse({"--collector.sysctl", "--collector.disable-defaults"}).flags;
  EXPECT_TRUE(explicit_first.collector_enabled.at("sysctl"));
}

TEST(Flags, ErrorsNameTheFlag) {
  const std::pair<std::vector<std::string>, std::string> kBad[] = {
      {{"--web.listen-addres=:1"}, "--web.listen-addres: unknown flag (see --help)"},
      {{"--web.listen-address=9725"}, "--web.listen-address: must be host:port or :port"},
      {{"--web.listen-address"}, "--web.listen-address: needs a value"},
      {{"--log.level=loud"}, "--log.level: must be one of debug, info, warn, error"},
      {{"--collector.nope"}, "--collector.nope: unknown flag (see --help)"},
      {{"--collector.sysctl=maybe"}, "--collector.sysctl: takes true or false"},
      {{"--web.telemetry-path=metrics"}, "--web.telemetry-path: must start with / and not be /"},
      {{"--web.max-requests=-3"}, "--web.max-requests: must be a whole number >= 0"},
      {{"stray"}, "--stray: unexpected argument"},
      {{"--collector.table.interval"}, "--collector.table.interval: needs a value"},
  };
  for (const auto& [args, message] : kBad) EXPECT_EQ(Parse(args).error, message) << args[0];
}

TEST(Flags, UsageListsEveryFlagAndCollector) {
  std::string usage = Usage(TestCollectors());
  for (const char* text :
       {"--web.listen-address=ADDRESS", "(default: :9725)", "--path.procfs",
        "--[no-]collector.sysctl", "--[no-]collector.table", "(default: disabled)",
        "--collector.table.interval=VALUE", "--collector.disable-defaults"}) {
    EXPECT_NE(usage.find(text), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace nfct
