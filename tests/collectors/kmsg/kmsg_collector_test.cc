// The kmsg collector end to end with a replayed /dev/kmsg: its reader thread, the snapshot a
// scrape reads, golden output, the family declarations and the --collector.kmsg.source option.
#include "collectors/kmsg/kmsg_collector.h"

#include <gtest/gtest.h>
#include <prometheus/check_names.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <thread>

#include "collectors/kmsg/kmsg_device.h"
#include "tests/collectors/kmsg/kmsg_test_util.h"

namespace nfct {
namespace {

using testing::FakeKmsg;
using testing::GoldenFile;
using testing::KmsgFixture;
using testing::MatchesGolden;
using testing::ReadText;
using testing::SplitKmsgRecords;

Env FixtureEnv(std::string_view kernel) {
  Env env;
  std::filesystem::path root = std::filesystem::path(NFCT_SOURCE_DIR) / "tests/fixtures/roots" /
                               ("kmsg_" + std::string(kernel));
  env.procfs = root / "proc";
  env.sysfs = root / "sys";
  // Boot was at 1,700,000,000 s: wall 1,700,001,000 s, 1000 s after boot.
  env.clock.wall = [] {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1'700'001'000));
  };
  env.clock.steady = [] {
    return std::chrono::steady_clock::time_point(std::chrono::seconds(1000));
  };
  return env;
}

struct Scrape {
  Status status;
  std::string text;
};

Scrape Collect(KmsgCollector& collector) {
  FamilySink sink;
  Status status = collector.Collect(sink);
  auto families = sink.Take();
  std::sort(families.begin(), families.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return {status, prometheus::TextSerializer().Serialize(families)};
}

// Scrapes until `done` holds (the reader thread works asynchronously), at most 5 s.
Scrape CollectUntil(KmsgCollector& collector, const std::function<bool(const Scrape&)>& done) {
  Scrape scrape = Collect(collector);
  for (int i = 0; i < 500 && !done(scrape); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    scrape = Collect(collector);
  }
  return scrape;
}

bool Contains(const Scrape& scrape, std::string_view text) {
  return scrape.text.find(text) != std::string::npos;
}

std::unique_ptr<KmsgCollector> MakeCollector(const Env& env, FakeKmsg& fake) {
  auto boot = [] { return 1'700'000'000.0; };
  return std::make_unique<KmsgCollector>(
      env, "/dev/kmsg", std::make_unique<KmsgDeviceSource>("/dev/kmsg", fake.Opener(), boot),
      KmsgCollector::Options{std::chrono::milliseconds(20)});
}

TEST(KmsgCollector, ReplayedKernelLogGolden) {
  FakeKmsg fake;
  auto records = SplitKmsgRecords(ReadText(KmsgFixture("kmsg-6.18.txt")));
  fake.backlog->AddRecords(records);
  fake.live->AddRecords(records);
  auto collector = MakeCollector(FixtureEnv("6.18"), fake);
  collector->Start();
  Scrape scrape = CollectUntil(*collector, [](const Scrape& s) {
    return Contains(s, "nf_conntrack_kernel_log_suppressed_total 159441");
  });
  collector->Stop();
  EXPECT_TRUE(scrape.status.ok()) << scrape.status.reason();
  EXPECT_TRUE(MatchesGolden(scrape.text, GoldenFile("kmsg_replay")));
}

TEST(KmsgCollector, OldKernelSaysUnknownNetns) {
  FakeKmsg fake;
  fake.live->Add("4,1,2,-;nf_conntrack: nf_conntrack: table full, dropping packet\n");
  auto collector = MakeCollector(FixtureEnv("5.15"), fake);
  collector->Start();
  Scrape scrape = CollectUntil(*collector, [](const Scrape& s) {
    return Contains(s, "{message=\"table_full\",netns=\"unknown\"} 1");
  });
  collector->Stop();
  EXPECT_TRUE(Contains(scrape, "{message=\"table_full\",netns=\"unknown\"} 1")) << scrape.text;
  EXPECT_FALSE(Contains(scrape, "netns=\"init\"")) << scrape.text;
}

TEST(KmsgCollector, UnavailableSourceServesOnlyTheSourceGolden) {
  FakeKmsg fake;
  fake.open_error = EPERM;
  auto collector = MakeCollector(FixtureEnv("6.18"), fake);
  collector->Start();
  Scrape scrape = CollectUntil(*collector, [](const Scrape& s) {
    return s.status.reason().find("CAP_SYSLOG") != std::string::npos;
  });
  EXPECT_EQ(scrape.status.code(), Status::Code::kUnavailable);
  EXPECT_TRUE(MatchesGolden(scrape.text, GoldenFile("kmsg_unavailable")));
  // The reader retries: once the device can be opened, counting starts.
  fake.open_error = 0;
  scrape = CollectUntil(*collector, [](const Scrape& s) { return s.status.ok(); });
  collector->Stop();
  EXPECT_TRUE(scrape.status.ok());
  EXPECT_TRUE(Contains(scrape, "nf_conntrack_kernel_log_records_lost_total 0"));
}

TEST(KmsgCollector, NotStartedIsUnavailable) {
  FakeKmsg fake;
  auto collector = MakeCollector(FixtureEnv("6.18"), fake);
  EXPECT_EQ(Collect(*collector).status.code(), Status::Code::kUnavailable);
}

TEST(KmsgCollector, StopDoesNotWaitForTheRetryInterval) {
  FakeKmsg fake;
  fake.open_error = EPERM;
  KmsgCollector collector(
      FixtureEnv("6.18"), "/dev/kmsg",
      std::make_unique<KmsgDeviceSource>("/dev/kmsg", fake.Opener(), [] { return 0.0; }),
      KmsgCollector::Options{std::chrono::hours(1)});
  collector.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto begin = std::chrono::steady_clock::now();
  collector.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(1));
}

TEST(KmsgCollector, FamiliesAreDeclaredWell) {
  FakeKmsg fake;
  auto collector = MakeCollector(FixtureEnv("6.18"), fake);
  const std::string golden = ReadText(GoldenFile("kmsg_replay"));
  for (const auto& family : collector->Families()) {
    std::string name(family.name);
    EXPECT_TRUE(prometheus::CheckMetricName(name)) << name;
    EXPECT_TRUE(name.starts_with("nf_conntrack_kernel_log_")) << name;
    EXPECT_EQ(family.type == prometheus::MetricType::Counter, name.ends_with("_total")) << name;
    EXPECT_TRUE(!family.help.empty() && family.help.back() == '.') << name;
    EXPECT_NE(golden.find("# TYPE " + name + " "), std::string::npos) << name;
  }
  EXPECT_EQ(collector->Families().size(), 5u);
}

CollectorOptions SourceOption(const std::string& source) {
  auto checked = CollectorOptions::Check("kmsg", KmsgCollectorOptions(), {{"source", source}});
  EXPECT_EQ(checked.error, "");
  return checked.options;
}

TEST(MakeKmsgCollector, ChoosesTheSourceFromTheOption) {
  Env env = FixtureEnv("6.18");
  for (std::string ok : {"/dev/kmsg", "journald", "journald:/var/log/journal", "/var/log/kern.log",
                         "/nonexistent/messages"}) {
    MadeCollector made = MakeKmsgCollector(env, SourceOption(ok));
    ASSERT_TRUE(made.collector) << ok << ": " << made.error;
    // Before Start, a scrape holds only the source's info series: its label is the source.
    FamilySink sink;
    made.collector->Collect(sink);
    auto families = sink.Take();
    ASSERT_EQ(families.size(), 1u) << ok;
    EXPECT_EQ(families[0].metric.at(0).label.at(0).value, ok);
  }
  for (std::string bad : {"", "jounald", "kern.log", "dev/kmsg"}) {
    MadeCollector made = MakeKmsgCollector(env, SourceOption(bad));
    EXPECT_FALSE(made.collector) << bad;
    EXPECT_NE(made.error.find("--collector.kmsg.source"), std::string::npos) << made.error;
  }
}

}  // namespace
}  // namespace nfct
