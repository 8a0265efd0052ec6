// /dev/kmsg failing mid-run, through the reader's KmsgFile seam (the kernel overruns its ring
// or fails a read only when it will), scraped through the collector set beside the sysctl
// collector: an overrun is counted as lost records and is no outage; a failing device is one
// "collector failed" line however many scrapes see it, the sysctl collector is still served,
// and counting resumes when the device can be read again.
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <sstream>
#include <thread>

#include "collectors/kmsg/kmsg_collector.h"
#include "collectors/kmsg/kmsg_device.h"
#include "collectors/log.h"
#include "collectors/sysctl/sysctl_collector.h"
#include "exporter/collector_set.h"
#include "tests/collectors/kmsg/kmsg_test_util.h"

namespace nfct::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kLost = "nf_conntrack_kernel_log_records_lost_total";
constexpr std::string_view kTableFull =
    "nf_conntrack_kernel_log_messages_total{message=\"table_full\",netns=\"init\"}";

// Whether the exposition has the series with exactly this value.
bool Has(const std::string& text, std::string_view series, int value) {
  return text.find(std::string(series) + " " + std::to_string(value) + "\n") != std::string::npos;
}

std::string SuccessOf(std::string_view collector) {
  return "nf_conntrack_scrape_collector_success{collector=\"" + std::string(collector) + "\"}";
}

std::string Record(int seq) {
  return "4," + std::to_string(seq) + ",1000,-;nf_conntrack: nf_conntrack: table full, " +
         "dropping packet\n";
}

class KmsgFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    ConfigureLog(LogLevel::kInfo, LogFormat::kLogfmt, &log_);
    Env env;
    env.procfs = std::string(NFCT_SOURCE_DIR) + "/tests/fixtures/roots/kmsg_6.18/proc";
    env.clock.wall = [] {
      return std::chrono::system_clock::time_point(std::chrono::seconds(1'700'001'000));
    };
    env.clock.steady = [] {
      return std::chrono::steady_clock::time_point(std::chrono::seconds(1000));
    };
    auto kmsg = std::make_unique<KmsgCollector>(
        env, "/dev/kmsg",
        std::make_unique<KmsgDeviceSource>("/dev/kmsg", fake_.Opener(),
                                           [] { return 1'700'000'000.0; }),
        KmsgCollector::Options{20ms});
    Env healthy;
    healthy.procfs = std::string(NFCT_SOURCE_DIR) + "/tests/fixtures/roots/healthy/proc";
    healthy.sysfs = std::string(NFCT_SOURCE_DIR) + "/tests/fixtures/roots/healthy/sys";
    KmsgCollector* reader = kmsg.get();
    std::vector<CollectorSet::Named> collectors;
    collectors.push_back({"kmsg", std::move(kmsg)});
    collectors.push_back({"sysctl", MakeSysctlCollector(healthy, {}).collector});
    set_ = std::make_unique<CollectorSet>(std::move(collectors), Clock{}, false);
    fake_.live->Add(Record(10));
    set_->Start();
    // Read and counted before the faults begin, and before the set's first scrape, so that
    // the log holds no line about a reader that has not started yet.
    for (int i = 0; i < 500; ++i) {
      FamilySink sink;
      if (reader->Collect(sink).ok()) break;
      std::this_thread::sleep_for(10ms);
    }
    ASSERT_TRUE(Has(ScrapeUntil([](const std::string& t) { return Has(t, kTableFull, 1); }),
                    kTableFull, 1));
  }
  void TearDown() override {
    set_->Stop();
    ConfigureLog(LogLevel::kInfo, LogFormat::kLogfmt, nullptr);
  }

  std::string Scrape() { return prometheus::TextSerializer().Serialize(set_->Collect()); }
  std::string ScrapeUntil(const std::function<bool(const std::string&)>& done) {
    std::string text = Scrape();
    for (int i = 0; i < 500 && !done(text); ++i) {
      std::this_thread::sleep_for(10ms);
      text = Scrape();
    }
    return text;
  }
  size_t LogCount(std::string_view fragment) const {
    std::string text = log_.str();
    size_t n = 0;
    for (auto pos = text.find(fragment); pos != std::string::npos; pos = text.find(fragment, ++pos))
      ++n;
    return n;
  }
  std::ostringstream log_;
  FakeKmsg fake_;
  std::unique_ptr<CollectorSet> set_;
};

TEST_F(KmsgFaults, RingOverrunCountsLostRecordsAndIsNoOutage) {
  // EPIPE: the ring overwrote 11..13 before they were read; reading resumes at 14.
  fake_.live->Add(EPIPE);
  fake_.live->Add(Record(14));
  std::string text = ScrapeUntil([](const std::string& t) { return Has(t, kLost, 3); });
  EXPECT_TRUE(Has(text, kLost, 3)) << text;
  EXPECT_TRUE(Has(text, kTableFull, 2)) << text;
  for (int i = 0; i < 5; ++i) {
    text = Scrape();
    EXPECT_TRUE(Has(text, SuccessOf("kmsg"), 1)) << text;
    EXPECT_TRUE(Has(text, SuccessOf("sysctl"), 1)) << text;
  }
  EXPECT_EQ(LogCount("collector=kmsg"), 1u) << log_.str();  // its first success, nothing since
}

TEST_F(KmsgFaults, FailingDeviceIsOneLineAndReadingResumes) {
  // A read fails, and so does every reopen until the device works again.
  fake_.open_error = EIO;
  fake_.live->Add(EIO);
  std::string text = ScrapeUntil([](const std::string& t) { return Has(t, SuccessOf("kmsg"), 0); });
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(30ms);  // the reader retries every 20 ms
    text = Scrape();
    EXPECT_TRUE(Has(text, SuccessOf("kmsg"), 0)) << text;
    EXPECT_TRUE(Has(text, SuccessOf("sysctl"), 1)) << text;
    // What was counted before the failure is still served.
    EXPECT_TRUE(Has(text, kTableFull, 1)) << text;
  }
  EXPECT_EQ(LogCount("msg=\"collector failed\" collector=kmsg "), 1u) << log_.str();
  EXPECT_EQ(LogCount("err=\"reading /dev/kmsg: Input/output error\""), 1u) << log_.str();

  fake_.open_error = 0;
  fake_.live->Add(Record(11));
  text = ScrapeUntil([](const std::string& t) { return Has(t, kTableFull, 2); });
  EXPECT_TRUE(Has(text, SuccessOf("kmsg"), 1)) << text;
  EXPECT_TRUE(Has(text, kTableFull, 2)) << text;
  EXPECT_TRUE(Has(text, kLost, 0)) << text;
  EXPECT_EQ(LogCount("msg=\"collector succeeded\" collector=kmsg"), 2u) << log_.str();
  EXPECT_EQ(LogCount("collector=sysctl"), 1u) << log_.str();
}

}  // namespace
}  // namespace nfct::testing
