// TableCollector with a fake TableSource, a fixture procfs, an injected clock and CPU meter:
// options, snapshot semantics (failed, not loaded), the CPU budget and trouble dumps at every
// tick, the worker's Start/Stop promptness and no doubled dumps.
#include "collectors/table/table_collector.h"

#include <gtest/gtest.h>
#include <prometheus/check_names.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <map>

#include "exporter/collector_set.h"
#include "tests/support/test_support.h"

namespace nfct {
namespace {

using namespace std::chrono_literals;

class FakeSource : public TableSource {
 public:
  std::function<DumpOutcome(TableCounts&, const std::atomic<bool>&)> body =
      [](TableCounts&, const std::atomic<bool>&) { return DumpOutcome{}; };
  std::atomic<int> calls{0}, active{0}, max_active{0};

  DumpOutcome Dump(TableCounts& counts, const std::atomic<bool>& stop) override {
    ++calls;
    int now = ++active;
    for (int seen = max_active; now > seen && !max_active.compare_exchange_weak(seen, now);) {
    }
    counts.Reset();
    DumpOutcome outcome = body(counts, stop);
    --active;
    return outcome;
  }
};

// A procfs root with the two sysctls the collector reads.
class TableCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("nfct-table-test-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(root_ / "sys/net/netfilter");
    WriteSysctl("nf_conntrack_max", 262144);
    WriteSysctl("nf_conntrack_count", 100);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  void WriteSysctl(const std::string& name, uint64_t value) {
    std::ofstream(root_ / "sys/net/netfilter" / name) << value << "\n";
  }

  std::unique_ptr<TableCollector> Make(TableOptions options = {}) {
    auto source = std::make_unique<FakeSource>();
    source_ = source.get();
    Env env{root_, root_, {}};
    env.clock.wall = [] { return std::chrono::system_clock::time_point(1700000000s); };
    return std::make_unique<TableCollector>(env, options, std::move(source));
  }

  // /proc/net/stat/nf_conntrack with two CPUs whose drop columns add up to `drops`.
  void WriteDrops(uint64_t drops) {
    std::filesystem::create_directories(root_ / "net/stat");
    char text[256];
    std::snprintf(text, sizeof(text),
                  "entries drop early_drop\n%08x %08x 00000000\n%08x %08x 00000000\n", 100u,
                  static_cast<unsigned>(drops / 2), 100u, static_cast<unsigned>(drops - drops / 2));
    std::ofstream(root_ / "net/stat/nf_conntrack") << text;
  }

  // A collector on the test's own steady clock (now_) and CPU meter (cpu_), driven by Tick().
  std::unique_ptr<TableCollector> MakeManual(TableOptions options) {
    auto source = std::make_unique<FakeSource>();
    source_ = source.get();
    Env env{root_, root_, {}};
    env.clock.wall = [] { return std::chrono::system_clock::time_point(1700000000s); };
    env.clock.steady = [this] { return now_; };
    return std::make_unique<TableCollector>(env, options, std::move(source),
                                            [this] { return cpu_; });
  }

  std::filesystem::path root_;
  FakeSource* source_ = nullptr;
  std::chrono::steady_clock::time_point now_ = std::chrono::steady_clock::time_point(1000h);
  double cpu_ = 0;
};

struct Scrape {
  Status status = Status::Ok();
  std::vector<prometheus::MetricFamily> families;

  const prometheus::MetricFamily* Family(std::string_view name) const {
    for (const auto& f : families)
      if (f.name == name) return &f;
    return nullptr;
  }
  // The value of the sample whose labels equal `labels`, if present.
  std::optional<double> Value(std::string_view name,
                              std::map<std::string, std::string> labels = {}) const {
    const auto* family = Family(name);
    if (!family) return std::nullopt;
    for (const auto& metric : family->metric) {
      std::map<std::string, std::string> have;
      for (const auto& label : metric.label) have[label.name] = label.value;
      if (have == labels) {
        return family->type == prometheus::MetricType::Counter ? metric.counter.value
                                                               : metric.gauge.value;
      }
    }
    return std::nullopt;
  }
};

Scrape Collect(Collector& collector) {
  FamilySink sink;
  Scrape scrape;
  scrape.status = collector.Collect(sink);
  scrape.families = sink.Take();
  return scrape;
}

DumpOutcome FillKnown(TableCounts& counts) {
  for (int i = 0; i < 7; ++i) counts.Add(kIpv4, kTcp, 7, 80);   // time_wait
  for (int i = 0; i < 3; ++i) counts.Add(kIpv6, kTcp, 3, 443);  // established
  for (int i = 0; i < 4; ++i) counts.Add(kIpv4, kUdp, kUnreplied, static_cast<uint16_t>(5000 + i));
  counts.Add(kIpv4, kIcmp, kAssured, 0);
  return {Status::Ok(), 15, false};
}

TEST(TableOptions, TypedFromTheDeclarations) {
  auto check = [](const OptionValues& given) {
    return CollectorOptions::Check("table", TableCollectorOptions(), given);
  };
  auto defaults = check({});
  ASSERT_EQ(defaults.error, "");
  TableOptions options = TableOptionsFrom(defaults.options);
  EXPECT_EQ(options.interval, 30s);
  EXPECT_EQ(options.top_ports, 10u);
  EXPECT_EQ(options.cpu_budget, 0.05);
  // The struct's own defaults are the declared ones.
  EXPECT_EQ(options.interval, TableOptions{}.interval);
  EXPECT_EQ(options.top_ports, TableOptions{}.top_ports);
  EXPECT_EQ(options.cpu_budget, TableOptions{}.cpu_budget);
  EXPECT_EQ(TableOptionsFrom(check({{"interval", "2m"}}).options).interval, 120s);
  EXPECT_EQ(TableOptionsFrom(check({{"cpu-budget", "0.2"}}).options).cpu_budget, 0.2);
  EXPECT_EQ(TableOptionsFrom(check({{"cpu-budget", "1"}}).options).cpu_budget, 1.0);
  // The deprecated flag still parses, so old command lines keep working; it changes nothing.
  auto deprecated = check({{"max-entries", "500000"}});
  EXPECT_EQ(deprecated.error, "");
  EXPECT_EQ(TableOptionsFrom(deprecated.options).cpu_budget, 0.05);
  const std::pair<const char*, const char*> kBad[] = {
      {"interval", "abc"},    {"interval", "0s"},    {"interval", "30"},     {"max-entries", "-1"},
      {"max-entries", "1e6"}, {"top-ports", "1001"}, {"top-ports", "ten"},   {"top-ports", " 3"},
      {"cpu-budget", "0"},    {"cpu-budget", "1.5"}, {"cpu-budget", "-0.1"}, {"cpu-budget", "5%"},
      {"cpu-budget", ""},     {"cpu-budget", "nan"},
  };
  for (const auto& [name, value] : kBad) {
    EXPECT_TRUE(check({{name, value}})
                    .error.starts_with(std::string("--collector.table.") + name + ": must be "))
        << name << "=" << value;
  }
}

TEST_F(TableCollectorTest, FamiliesAreDeclaredWell) {
  auto collector = Make();
  for (const auto& desc : collector->Families()) {
    std::string name(desc.name);
    EXPECT_TRUE(prometheus::CheckMetricName(name)) << name;
    EXPECT_TRUE(name.starts_with("nf_conntrack_table_")) << name;
    EXPECT_EQ(desc.type == prometheus::MetricType::Counter, name.ends_with("_total")) << name;
    EXPECT_TRUE(desc.help.ends_with(".")) << name;
  }
  source_->body = [](TableCounts& c, const std::atomic<bool>&) { return FillKnown(c); };
  collector->RunOnce();
  Scrape scrape = Collect(*collector);
  EXPECT_EQ(scrape.families.size(), collector->Families().size());  // all emitted, no more
  for (const auto& family : scrape.families) {
    bool declared = false;
    for (const auto& desc : collector->Families()) {
      if (desc.name != family.name) continue;
      declared = true;
      for (const auto& metric : family.metric) EXPECT_EQ(metric.label.size(), desc.labels.size());
    }
    EXPECT_TRUE(declared) << family.name;
  }
}

TEST_F(TableCollectorTest, BeforeTheFirstDumpOnlyTheCostFamilies) {
  auto collector = Make({30s, 0.05, 10});
  Scrape scrape = Collect(*collector);
  EXPECT_TRUE(scrape.status.ok());
  EXPECT_EQ(scrape.families.size(), 5u);
  EXPECT_EQ(scrape.Value("nf_conntrack_table_dump_skipped_total"), 0);
  EXPECT_EQ(scrape.Value("nf_conntrack_table_dump_cpu_seconds_total"), 0);
  EXPECT_EQ(scrape.Value("nf_conntrack_table_dumps_total", {{"trigger", "schedule"}}), 0);
  EXPECT_EQ(scrape.Value("nf_conntrack_table_dump_interval_seconds"), 30);
  EXPECT_EQ(scrape.Value("nf_conntrack_table_dump_cpu_budget_ratio"), 0.05);
  EXPECT_EQ(scrape.Family("nf_conntrack_table_entries"), nullptr);
}

TEST_F(TableCollectorTest, ServesTheSnapshotWithEveryCellAndTopPorts) {
  auto collector = Make({1s, 0, 2});
  source_->body = [](TableCounts& c, const std::atomic<bool>&) { return FillKnown(c); };
  collector->RunOnce();
  Scrape scrape = Collect(*collector);
  ASSERT_TRUE(scrape.status.ok());
  const auto* entries = scrape.Family("nf_conntrack_table_entries");
  ASSERT_NE(entries, nullptr);
  EXPECT_EQ(entries->metric.size(), 2u * (10 + 7 * 3));  // constant cardinality, zeros included
  auto cell = [&](const char* f, const char* p, const char* s) {
    return scrape.Value("nf_conntrack_table_entries",
                        {{"family", f}, {"protocol", p}, {"state", s}});
  };
  EXPECT_EQ(cell("ipv4", "tcp", "time_wait"), 7);
  EXPECT_EQ(cell("ipv6", "tcp", "established"), 3);
  EXPECT_EQ(cell("ipv4", "udp", "unreplied"), 4);
  EXPECT_EQ(cell("ipv4", "icmp", "assured"), 1);
  EXPECT_EQ(cell("ipv6", "sctp", "replied"), 0);
  auto port = [&](const char* p, const char* n) {
    return scrape.Value("nf_conntrack_table_entries_by_port", {{"protocol", p}, {"port", n}});
  };
  EXPECT_EQ(port("tcp", "80"), 7);
  EXPECT_EQ(port("tcp", "443"), 3);
  EXPECT_EQ(port("tcp", "other"), 0);
  EXPECT_EQ(port("udp", "5000"), 1);
  EXPECT_EQ(port("udp", "5001"), 1);
  EXPECT_EQ(port("udp", "5002"), std::nullopt);
  EXPECT_EQ(port("udp", "other"), 2);
  EXPECT_EQ(port("sctp", "other"), 0);
  EXPECT_EQ(port("dccp", "other"), 0);
  EXPECT_EQ(scrape.Value("nf_conntrack_table_dump_entries"), 15);
  EXPECT_EQ(scrape.Value("nf_conntrack_table_dump_timestamp_seconds"), 1700000000);
  EXPECT_GE(*scrape.Value("nf_conntrack_table_dump_duration_seconds"), 0);
}

TEST_F(TableCollectorTest, ModuleNotLoadedMeansNoNetlinkRequest) {
  std::filesystem::remove(root_ / "sys/net/netfilter/nf_conntrack_max");
  auto collector = Make();
  collector->RunOnce();
  Scrape scrape = Collect(*collector);
  EXPECT_EQ(scrape.status.code(), Status::Code::kUnavailable);
  EXPECT_NE(scrape.status.reason().find("nf_conntrack is not loaded"), std::string::npos);
  EXPECT_EQ(source_->calls, 0);
}

TEST_F(TableCollectorTest, TheBudgetSetsTheIntervalFromTheLastDumpsCpu) {
  auto collector = MakeManual({30s, 0.05, 10});
  double cost = 3.0;  // CPU seconds per dump, spread over 4 s of wall time
  source_->body = [&](TableCounts& c, const std::atomic<bool>&) {
    cpu_ += cost;
    now_ += 4s;
    return FillKnown(c);
  };
  auto start = now_;
  collector->Tick();
  ASSERT_EQ(source_->calls, 1);
  Scrape scrape = Collect(*collector);
  EXPECT_EQ(scrape.Value("nf_conntrack_table_dump_cpu_seconds_total"), 3);
  // 4 s of dump, then 3 s / 0.05 = 60 s of pause: 64 s, not the configured 30 s.
  EXPECT_DOUBLE_EQ(*scrape.Value("nf_conntrack_table_dump_interval_seconds"), 64);
  EXPECT_EQ(scrape.Value("nf_conntrack_table_dump_skipped_total"), 2);  // due at 30 s and 60 s
  EXPECT_EQ(scrape.Value("nf_conntrack_table_dumps_total", {{"trigger", "schedule"}}), 1);
  EXPECT_NE(scrape.Family("nf_conntrack_table_entries"), nullptr);  // served at any size
  for (now_ = start + 5s; now_ < start + 64s; now_ += 1s) collector->Tick();
  EXPECT_EQ(source_->calls, 1);
  now_ = start + 64s;
  cost = 0.1;  // a cheap dump: the configured interval rules again
  collector->Tick();
  EXPECT_EQ(source_->calls, 2);
  scrape = Collect(*collector);
  EXPECT_DOUBLE_EQ(*scrape.Value("nf_conntrack_table_dump_interval_seconds"), 30);
  EXPECT_DOUBLE_EQ(*scrape.Value("nf_conntrack_table_dump_cpu_seconds_total"), 3.1);
  EXPECT_EQ(scrape.Value("nf_conntrack_table_dump_skipped_total"), 2);
  EXPECT_EQ(scrape.Value("nf_conntrack_table_dumps_total", {{"trigger", "schedule"}}), 2);
}

TEST_F(TableCollectorTest, TroubleStartsADumpAtOnceButNotWithinTheFloorNorTwicePerEpisode) {
  auto collector = MakeManual({1h, 0.05, 10});
  source_->body = [&](TableCounts& c, const std::atomic<bool>&) {
    cpu_ += 1;
    now_ += 1s;
    return FillKnown(c);
  };
  WriteSysctl("nf_conntrack_max", 1000);
  WriteDrops(0);
  auto t0 = now_;
  auto at = [&](std::chrono::seconds s) {
    now_ = t0 + s;
    collector->Tick();
    return source_->calls.load();
  };
  auto dumps = [&](const char* trigger) {
    return Collect(*collector).Value("nf_conntrack_table_dumps_total", {{"trigger", trigger}});
  };
  EXPECT_EQ(at(0s), 1);                    // the first dump, ending at 1 s
  WriteSysctl("nf_conntrack_count", 800);  // 80 % of the limit: near full
  EXPECT_EQ(at(5s), 1);                    // within 10 s of the last dump's start: waits
  EXPECT_EQ(at(9s), 1);
  EXPECT_EQ(at(10s), 2);
  EXPECT_EQ(dumps("near_full"), 1);
  // Staying near full, or flapping around the threshold, is the same episode.
  for (int s = 12; s < 40; ++s) {
    WriteSysctl("nf_conntrack_count", s % 2 ? 799 : 801);
    EXPECT_EQ(at(std::chrono::seconds(s)), 2) << s;
  }
  WriteDrops(5);  // the first drop: worse trouble, a dump at once
  EXPECT_EQ(at(40s), 3);
  EXPECT_EQ(dumps("dropping"), 1);
  for (int s = 41; s < 100; ++s) {  // dropping every second: no more trouble dumps
    WriteDrops(5 + static_cast<uint64_t>(s));
    EXPECT_EQ(at(std::chrono::seconds(s)), 3) << s;
  }
  // A calm minute ends the episode: the next drop starts a dump again.
  WriteSysctl("nf_conntrack_count", 100);
  for (int s = 100; s <= 160; ++s) EXPECT_EQ(at(std::chrono::seconds(s)), 3) << s;
  WriteDrops(1000);
  EXPECT_EQ(at(161s), 4);
  EXPECT_EQ(dumps("dropping"), 2);
  EXPECT_EQ(dumps("schedule"), 1);
  EXPECT_EQ(Collect(*collector).Value("nf_conntrack_table_dump_cpu_seconds_total"), 4);
}

TEST_F(TableCollectorTest, WithoutTheStatFileNearFullStillStartsADump) {
  auto collector = MakeManual({1h, 0.05, 10});
  auto t0 = now_;
  collector->Tick();
  WriteSysctl("nf_conntrack_count", 262144);
  now_ = t0 + 20s;
  collector->Tick();
  EXPECT_EQ(source_->calls, 2);
  EXPECT_EQ(Collect(*collector).Value("nf_conntrack_table_dumps_total", {{"trigger", "near_full"}}),
            1);
}

TEST_F(TableCollectorTest, MissingCapabilityIsUnavailableAndServesNoBreakdown) {
  auto collector = Make();
  source_->body = [](TableCounts& c, const std::atomic<bool>&) { return FillKnown(c); };
  collector->RunOnce();
  source_->body = [](TableCounts&, const std::atomic<bool>&) {
    return DumpOutcome{Status::Unavailable("the netlink conntrack dump needs CAP_NET_ADMIN"), 0,
                       false};
  };
  collector->RunOnce();
  Scrape scrape = Collect(*collector);
  EXPECT_EQ(scrape.status.code(), Status::Code::kUnavailable);
  EXPECT_NE(scrape.status.reason().find("CAP_NET_ADMIN"), std::string::npos);
  EXPECT_EQ(scrape.Family("nf_conntrack_table_entries"), nullptr);
}

TEST_F(TableCollectorTest, StopIsPromptInTheMiddleOfADump) {
  auto collector = Make({1h, 0, 10});
  source_->body = [](TableCounts& c, const std::atomic<bool>& stop) {
    while (!stop) {
      c.Add(kIpv4, kTcp, 3, 80);
      std::this_thread::sleep_for(1ms);
    }
    return DumpOutcome{Status::Ok(), 0, true};
  };
  collector->Start();
  while (source_->calls == 0) std::this_thread::sleep_for(1ms);
  auto begin = std::chrono::steady_clock::now();
  collector->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 500ms);
  EXPECT_EQ(Collect(*collector).Family("nf_conntrack_table_entries"), nullptr);  // partial: dropped
}

TEST_F(TableCollectorTest, StopIsPromptWhileWaitingForTheNextDump) {
  auto collector = Make({1h, 0, 10});
  collector->Start();
  while (source_->calls == 0) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(20ms);
  auto begin = std::chrono::steady_clock::now();
  collector->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 500ms);
  EXPECT_EQ(source_->calls, 1);
}

TEST_F(TableCollectorTest, ASlowDumpIsNeverDoubled) {
  // Dumps take 5 intervals: the due slots pass while one runs and are skipped, not stacked.
  auto collector = Make({10ms, 0, 10});
  source_->body = [](TableCounts&, const std::atomic<bool>&) {
    std::this_thread::sleep_for(50ms);
    return DumpOutcome{};
  };
  collector->Start();
  std::vector<std::thread> scrapers;
  for (int i = 0; i < 4; ++i) {
    scrapers.emplace_back([&] {
      for (int j = 0; j < 50; ++j) {
        Collect(*collector);
        std::this_thread::sleep_for(2ms);
      }
    });
  }
  for (auto& t : scrapers) t.join();
  collector->Stop();
  EXPECT_EQ(source_->max_active, 1);
  EXPECT_GE(source_->calls, 1);
}

TEST_F(TableCollectorTest, GoldenExposition) {
  // tests/golden/table.prom: every family of the collector as a scrape serves it.
  auto source = std::make_unique<FakeSource>();
  source->body = [](TableCounts& c, const std::atomic<bool>&) { return FillKnown(c); };
  Env env{root_, root_, testing::FrozenClock()};
  // A dump that cost 3 CPU seconds: at 5 %, 60 s until the next, one 30 s slot passed over.
  double cpu = 0;
  auto meter = [&cpu] { return std::exchange(cpu, cpu + 3.0); };
  auto collector =
      std::make_unique<TableCollector>(env, TableOptions{30s, 0.05, 3}, std::move(source), meter);
  collector->RunOnce();
  std::vector<CollectorSet::Named> named;
  named.push_back({"table", std::move(collector)});
  CollectorSet set(std::move(named), env.clock, false);
  testing::ExpectGolden("table", prometheus::TextSerializer().Serialize(set.Collect()));
}

}  // namespace
}  // namespace nfct
