// The /dev/kmsg reader through its seam: replayed real records, injected EAGAIN, EPIPE, EINVAL
// and sequence gaps, the backlog/live split, and open errors.
#include "collectors/kmsg/kmsg_device.h"

#include <gtest/gtest.h>

#include "tests/collectors/kmsg/kmsg_test_util.h"

namespace nfct {
namespace {

using testing::FakeKmsg;
using testing::KmsgFixture;
using testing::ReadText;
using testing::SplitKmsgRecords;
using Key = std::pair<std::string, std::string>;

constexpr double kBoot = 1'700'000'000;

KmsgDeviceSource MakeSource(FakeKmsg& fake) {
  return KmsgDeviceSource("/dev/kmsg", fake.Opener(), [] { return kBoot; });
}

std::string Record(uint64_t seq, std::string_view text, int prio = 4) {
  return std::to_string(prio) + "," + std::to_string(seq) + ",1000000,-;" + std::string(text) +
         "\n";
}

constexpr std::string_view kFull = "nf_conntrack: nf_conntrack: table full, dropping packet";

TEST(KmsgDeviceSource, RealRecordsInTheRingOnlySetLastSeen) {
  FakeKmsg fake;
  fake.backlog->AddRecords(SplitKmsgRecords(ReadText(KmsgFixture("kmsg-6.18.txt"))));
  auto source = MakeSource(fake);
  KmsgTally tally(true);
  ASSERT_TRUE(source.Open(tally).ok());
  ASSERT_TRUE(source.Pump(tally).ok());
  const auto& snapshot = tally.snapshot();
  EXPECT_EQ(snapshot.messages.size(), 2u);  // only the zero series made at start
  EXPECT_EQ(snapshot.suppressed, 0u);
  EXPECT_EQ(snapshot.lost, 0u);
  // The last table-full record of the fixture: "4,445,1305577988,-;nf_conntrack: ..."
  auto records = SplitKmsgRecords(ReadText(KmsgFixture("kmsg-6.18.txt")));
  double last = 0;
  for (const auto& record : records) {
    auto classified = ClassifyKmsgRecord(record);
    if (classified.match.event == LogEvent::kTableFull) {
      last = kBoot + static_cast<double>(classified.parse.record.ts_usec) / 1e6;
    }
  }
  EXPECT_DOUBLE_EQ(snapshot.last_seen.at("table_full"), last);
}

TEST(KmsgDeviceSource, RealRecordsLoggedAfterStartCountPerNetns) {
  FakeKmsg fake;
  auto source = MakeSource(fake);
  KmsgTally tally(true);
  ASSERT_TRUE(source.Open(tally).ok());
  fake.live->AddRecords(SplitKmsgRecords(ReadText(KmsgFixture("kmsg-6.18.txt"))));
  ASSERT_TRUE(source.Pump(tally).ok());
  std::map<Key, uint64_t> want = {{{"table_full", "init"}, 0},
                                  {{"table_full", "4026532177"}, 50},
                                  {{"table_full", "4026532246"}, 20},
                                  {{"table_full", "4026532211"}, 10},
                                  {{"table_full", "4026532245"}, 10},
                                  {{"table_full", "4026532318"}, 10},
                                  {{"expectation_table_full", "unknown"}, 0}};
  EXPECT_EQ(tally.snapshot().messages, want);
  EXPECT_EQ(tally.snapshot().suppressed, 159441u);
  EXPECT_EQ(tally.snapshot().lost, 0u);
}

TEST(KmsgDeviceSource, LegacyFormatsOnAnOldKernel) {
  FakeKmsg fake;
  auto source = MakeSource(fake);
  KmsgTally tally(false);
  ASSERT_TRUE(source.Open(tally).ok());
  fake.live->AddRecords(SplitKmsgRecords(ReadText(KmsgFixture("kmsg-legacy.txt"))));
  ASSERT_TRUE(source.Pump(tally).ok());
  std::map<Key, uint64_t> want = {{{"table_full", "unknown"}, 6},
                                  {{"expectation_table_full", "unknown"}, 1}};
  EXPECT_EQ(tally.snapshot().messages, want);
  EXPECT_EQ(tally.snapshot().suppressed, 42u);
  EXPECT_EQ(tally.snapshot().lost, 0u);
  EXPECT_DOUBLE_EQ(tally.snapshot().last_seen.at("table_full"), kBoot + 5.8);
  EXPECT_DOUBLE_EQ(tally.snapshot().last_seen.at("expectation_table_full"), kBoot + 5.4);
}

TEST(KmsgDeviceSource, SequenceGapsCountAsLost) {
  FakeKmsg fake;
  auto source = MakeSource(fake);
  KmsgTally tally(true);
  ASSERT_TRUE(source.Open(tally).ok());
  fake.live->Add(Record(10, kFull));
  fake.live->Add(Record(11, "something else"));
  fake.live->Add(EPIPE);  // overrun: the reader resumes at the oldest record, 20
  fake.live->Add(Record(20, kFull));
  fake.live->Add(EINVAL);  // record 21 did not fit
  fake.live->Add(Record(22, kFull));
  fake.live->Add(EAGAIN);                                      // nothing more for now
  fake.live->Add(Record(23, "not parsed;", 4).substr(0, 10));  // truncated: skipped
  fake.live->Add(Record(26, kFull));                           // 23, 24, 25 missing
  ASSERT_TRUE(source.Pump(tally).ok());
  EXPECT_EQ(tally.snapshot().lost, 8u + 1u);
  EXPECT_EQ(tally.snapshot().messages.at({"table_full", "init"}), 3u);
  ASSERT_TRUE(source.Pump(tally).ok());
  EXPECT_EQ(tally.snapshot().lost, 9u + 3u);
  EXPECT_EQ(tally.snapshot().messages.at({"table_full", "init"}), 4u);
}

TEST(KmsgDeviceSource, TheBacklogIsTheBaselineOfTheLiveSequence) {
  FakeKmsg fake;
  for (uint64_t seq = 1; seq <= 5; ++seq) fake.backlog->Add(Record(seq, "boot"));
  auto source = MakeSource(fake);
  KmsgTally tally(true);
  ASSERT_TRUE(source.Open(tally).ok());
  // Records 4 and 5 were logged after the live descriptor opened and were also read as backlog:
  // they count (they are new), and they are no gap.
  fake.live->Add(Record(4, kFull));
  fake.live->Add(Record(5, kFull));
  fake.live->Add(Record(9, kFull));
  ASSERT_TRUE(source.Pump(tally).ok());
  EXPECT_EQ(tally.snapshot().messages.at({"table_full", "init"}), 3u);
  EXPECT_EQ(tally.snapshot().lost, 3u);
}

TEST(KmsgDeviceSource, SpoofedUserLinesNeverCount) {
  FakeKmsg fake;
  auto source = MakeSource(fake);
  KmsgTally tally(true);
  ASSERT_TRUE(source.Open(tally).ok());
  // What `echo '<4>nf_conntrack: ...' > /dev/kmsg` produces: facility 1, level 4.
  fake.live->Add(Record(1, kFull, 12));
  fake.live->Add(
      Record(2, "nf_conntrack: nf_conntrack: table full in netns 7, dropping packet", 12));
  ASSERT_TRUE(source.Pump(tally).ok());
  EXPECT_EQ(tally.snapshot().messages.at({"table_full", "init"}), 0u);
  EXPECT_FALSE(tally.snapshot().messages.contains({"table_full", "7"}));
  EXPECT_FALSE(tally.snapshot().last_seen.contains("table_full"));
}

TEST(KmsgDeviceSource, PumpIsBounded) {
  FakeKmsg fake;
  auto source = MakeSource(fake);
  KmsgTally tally(true);
  ASSERT_TRUE(source.Open(tally).ok());
  const int total = KmsgDeviceSource::kMaxRecordsPerPump + 10;
  for (int seq = 0; seq < total; ++seq) fake.live->Add(Record(seq, kFull));
  ASSERT_TRUE(source.Pump(tally).ok());
  EXPECT_EQ(fake.live->size(), 10u);
  ASSERT_TRUE(source.Pump(tally).ok());
  EXPECT_EQ(tally.snapshot().messages.at({"table_full", "init"}), static_cast<uint64_t>(total));
}

TEST(KmsgDeviceSource, OpenErrorsSayWhatIsMissing) {
  FakeKmsg fake;
  KmsgTally tally(true);
  fake.open_error = EPERM;
  Status status = MakeSource(fake).Open(tally);
  EXPECT_EQ(status.code(), Status::Code::kUnavailable);
  EXPECT_NE(status.reason().find("CAP_SYSLOG"), std::string::npos) << status.reason();
  fake.open_error = ENOENT;
  status = MakeSource(fake).Open(tally);
  EXPECT_EQ(status.code(), Status::Code::kUnavailable);
  EXPECT_NE(status.reason().find("/dev/kmsg does not exist"), std::string::npos);
}

TEST(KmsgDeviceSource, ReadErrorsStopThisDescriptor) {
  FakeKmsg fake;
  auto source = MakeSource(fake);
  KmsgTally tally(true);
  ASSERT_TRUE(source.Open(tally).ok());
  fake.live->Add(EIO);
  EXPECT_EQ(source.Pump(tally).code(), Status::Code::kError);
  EXPECT_EQ(source.Pump(tally).code(), Status::Code::kError);  // closed until reopened
  ASSERT_TRUE(source.Open(tally).ok());
  for (int i = 0; i < 17; ++i) fake.live->Add(EINVAL);
  EXPECT_EQ(source.Pump(tally).code(), Status::Code::kUnavailable);
}

TEST(KmsgDeviceSource, RealDeviceOpensAtTheEnd) {
  // Needs only read access to /dev/kmsg; skip where that is refused.
  KmsgOpen backlog = RealKmsgOpener("/dev/kmsg")(false);
  if (!backlog.file) GTEST_SKIP() << "cannot open /dev/kmsg: " << std::strerror(backlog.error);
  char buffer[16384];
  uint64_t newest = 0;
  for (KmsgRead read;
       (read = backlog.file->Read(buffer, sizeof buffer)).bytes > 0 || read.error == EPIPE;) {
    if (read.bytes > 0) newest = ParseKmsgRecord({buffer, size_t(read.bytes)}).record.seq;
  }
  KmsgOpen live = RealKmsgOpener("/dev/kmsg")(true);
  ASSERT_TRUE(live.file);
  KmsgRead read = live.file->Read(buffer, sizeof buffer);
  if (read.bytes < 0) {
    EXPECT_EQ(read.error, EAGAIN);
  } else {  // another process logged meanwhile: still nothing from before the open
    EXPECT_GT(ParseKmsgRecord({buffer, size_t(read.bytes)}).record.seq, newest);
  }
}

}  // namespace
}  // namespace nfct
