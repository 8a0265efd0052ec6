#include "exporter/flags.h"

#include <gtest/gtest.h>

#include <sstream>

namespace nfct {
namespace {

std::vector<CollectorEntry> TestCollectors() {
  auto none = [](const Env&, const CollectorOptions&) { return MadeCollector{}; };
  return {{"sysctl", true, "s", {}, none},
          {"table",
           false,
           "t",
           {{"interval", "30s", "How often.", OptionType::kDuration},
            {"top", "5", "How many.", OptionType::kCount, 9}},
           none}};
}

ParsedFlags Parse(std::vector<std::string> args) { return ParseFlags(args, TestCollectors()); }

TEST(Flags, Defaults) {
  auto [flags, error] = Parse({});
  ASSERT_EQ(error, "");
  EXPECT_EQ(flags.listen_addresses, std::vector<std::string>{":9725"});
  EXPECT_EQ(flags.http.telemetry_path, "/metrics");
  EXPECT_EQ(flags.procfs, "/proc");
  EXPECT_TRUE(flags.collector_enabled.at("sysctl"));
  EXPECT_FALSE(flags.collector_enabled.at("table"));
  EXPECT_EQ(flags.collector_options.at("table").Duration("interval"), std::chrono::seconds(30));
  EXPECT_EQ(flags.collector_options.at("table").Count("top"), 5u);
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
  EXPECT_EQ(flags.collector_options.at("table").Duration("interval"), std::chrono::minutes(2));
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
      {{"--web.max-requests=-3"}, "--web.max-requests: must be a whole number from 0 to 1000000"},
      {{"--web.max-connections=0"},
       "--web.max-connections: must be a whole number from 1 to 1000000"},
      {{"--web.max-header-bytes=12k"},
       "--web.max-header-bytes: must be a whole number from 4096 to 16777216"},
      {{"--web.read-header-timeout=10"},
       "--web.read-header-timeout: must be a positive duration such as 30s or 500ms"},
      {{"--web.idle-timeout=0s"},
       "--web.idle-timeout: must be a positive duration such as 30s or 500ms"},
      {{"stray"}, "--stray: unexpected argument"},
      {{"--collector.table.interval"}, "--collector.table.interval: needs a value"},
      // Collector options are checked by their declared type, in the same format.
      {{"--collector.table.interval=30"},
       "--collector.table.interval: must be a positive duration such as 30s or 500ms"},
      {{"--collector.table.top=10"}, "--collector.table.top: must be a whole number from 0 to 9"},
      {{"--collector.table.top", "x"}, "--collector.table.top: must be a whole number from 0 to 9"},
  };
  for (const auto& [args, message] : kBad) EXPECT_EQ(Parse(args).error, message) << args[0];
}

TEST(Flags, ServerLimits) {
  auto defaults = Parse({}).flags.http.limits;
  EXPECT_EQ(defaults.max_connections, 4096u);
  EXPECT_EQ(defaults.max_connections_per_ip, 64u);
  EXPECT_EQ(defaults.read_header_timeout, std::chrono::seconds(10));
  // Prometheus closes an idle connection after 5 minutes: the exporter must not close it first,
  // or every scrape at a long interval needs a new conntrack entry (issue 19).
  EXPECT_EQ(defaults.idle_timeout, std::chrono::minutes(6));
  EXPECT_GT(defaults.idle_timeout, std::chrono::minutes(5));
  EXPECT_NE(Usage(TestCollectors()).find("--web.idle-timeout=DURATION"), std::string::npos);
  EXPECT_NE(Usage(TestCollectors()).find("(default: 6m)"), std::string::npos);
  auto flags = Parse({"--web.max-connections=10", "--web.max-connections-per-ip", "0",
                      "--web.max-header-bytes=8192", "--web.read-header-timeout=500ms",
                      "--web.idle-timeout=2m", "--web.listen-backlog=16", "--web.max-requests=3"})
                   .flags;
  EXPECT_EQ(flags.http.limits.max_connections, 10u);
  EXPECT_EQ(flags.http.limits.max_connections_per_ip, 0u);
  EXPECT_EQ(flags.http.limits.max_header_bytes, 8192u);
  EXPECT_EQ(flags.http.limits.read_header_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(flags.http.limits.idle_timeout, std::chrono::minutes(2));
  EXPECT_EQ(flags.http.limits.listen_backlog, 16);
  EXPECT_EQ(flags.http.max_requests, 3);
}

TEST(Flags, UsageListsEveryFlagAndCollector) {
  std::string usage = Usage(TestCollectors());
  for (const char* text :
       {"--web.listen-address=ADDRESS", "(default: :9725)", "--path.procfs",
        "--[no-]collector.sysctl", "--[no-]collector.table", "(default: disabled)",
        "--collector.table.interval=VALUE", "--collector.disable-defaults",
        "nf_conntrack_exporter doctor [<doctor flags>]", "doctor --help"}) {
    EXPECT_NE(usage.find(text), std::string::npos) << text;
  }
}

TEST(Flags, EmptyPathsAndFalseBooleans) {
  // An empty path would make every kernel path relative to the working directory.
  EXPECT_EQ(Parse({"--path.procfs="}).error, "--path.procfs: must name a directory");
  EXPECT_EQ(Parse({"--path.sysfs", ""}).error, "--path.sysfs: must name a directory");
  // =false turns a boolean off, as for --collector.<name>=false.
  EXPECT_TRUE(Parse({"--collector.disable-defaults=false"}).flags.collector_enabled.at("sysctl"));
  EXPECT_FALSE(Parse({"--web.systemd-socket=false"}).flags.systemd_socket);
  EXPECT_TRUE(Parse({"--web.systemd-socket=true"}).flags.systemd_socket);
  EXPECT_TRUE(Parse({"-h"}).flags.help);
}

// The parser any program's table goes through (doctor's too): both spellings, booleans, errors
// in one format, the fallback only for names no row has.
TEST(Flags, OneParserForAnyTable) {
  struct Target : SharedFlags {
    std::string color;
    bool loud = false;
  };
  std::vector<FlagSpec<Target>> table = {
      {"color", "NAME", "red", "A color.",
       [](Target& t, std::string_view v) {
         t.color = v;  // the parser stops at the first error, so a rejected value does no harm
         return std::string(v == "blue" ? "must not be blue" : "");
       }},
      {"loud", "", "false", "Be loud.",
       [](Target& t, std::string_view) {
         t.loud = true;
         return std::string();
       }},
      SharedFlag<Target>("path.procfs"),
  };
  auto parse = [&](std::vector<std::string> args, Target& target) {
    return ParseCommandLine(args, Bind(table, target), "demo --help",
                            [](std::string_view name, std::optional<std::string_view>,
                               const auto&) -> std::optional<std::string> {
                              if (name == "extra") return "";
                              return std::nullopt;
                            });
  };
  Target t;
  EXPECT_EQ(parse({"--color=green", "--loud", "--path.procfs", "/p", "--extra"}, t), "");
  EXPECT_EQ(t.color, "green");
  EXPECT_TRUE(t.loud);
  EXPECT_EQ(t.procfs, "/p");
  Target t2;
  EXPECT_EQ(parse({"--color", "yellow", "--loud=false"}, t2), "");
  EXPECT_EQ(t2.color, "yellow");
  EXPECT_FALSE(t2.loud);
  EXPECT_EQ(parse({"--color=blue"}, t2), "--color: must not be blue");
  EXPECT_EQ(parse({"--color"}, t2), "--color: needs a value");
  EXPECT_EQ(parse({"--loud=maybe"}, t2), "--loud: takes true or false");
  EXPECT_EQ(parse({"--nope"}, t2), "--nope: unknown flag (see demo --help)");
  EXPECT_EQ(parse({"-x"}, t2), "--x: unexpected argument");
  // The shared row's error is the exporter's, word for word.
  EXPECT_EQ(parse({"--path.procfs="}, t2), Parse({"--path.procfs="}).error);

  std::ostringstream usage;
  WriteFlagLines(usage, Bind(table, t2));
  EXPECT_NE(usage.str().find("  --color=NAME"), std::string::npos) << usage.str();
  EXPECT_NE(usage.str().find("A color. (default: red)"), std::string::npos) << usage.str();
  EXPECT_NE(usage.str().find("Be loud.\n"), std::string::npos) << usage.str();  // no default
  EXPECT_NE(usage.str().find("--path.procfs=PATH"), std::string::npos) << usage.str();
}

}  // namespace
}  // namespace nfct
