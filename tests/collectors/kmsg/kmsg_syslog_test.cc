// The syslog file source on real files in a temporary directory: backlog, new lines, partial
// lines, rotation by rename and by truncation, over-long lines.
#include "collectors/kmsg/kmsg_syslog.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "tests/collectors/kmsg/kmsg_test_util.h"

namespace nfct {
namespace {

using testing::KmsgFixture;
using testing::ReadText;
using Key = std::pair<std::string, std::string>;

constexpr double kNow = 1749372493;  // 2025-06-08T08:48:13Z

class SyslogFileSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
    dir_ = std::filesystem::temp_directory_path() /
           ("nfct-kmsg-syslog-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    path_ = dir_ / "kern.log";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Append(std::string_view text) { std::ofstream(path_, std::ios::app) << text; }
  SyslogFileSource Make() {
    return SyslogFileSource(path_, [] { return kNow; }, {10, std::chrono::milliseconds(0)});
  }
  uint64_t Count(const KmsgTally& tally, const Key& key) {
    auto it = tally.snapshot().messages.find(key);
    return it == tally.snapshot().messages.end() ? 0 : it->second;
  }

  std::filesystem::path dir_;
  std::filesystem::path path_;
};

constexpr std::string_view kLine =
    "Jun  8 10:48:13 gw1 kernel: [12345.678901] nf_conntrack: nf_conntrack: table full, "
    "dropping packet\n";

TEST_F(SyslogFileSourceTest, MissingFileIsUnavailable) {
  KmsgTally tally(false);
  Status status = Make().Open(tally);
  EXPECT_EQ(status.code(), Status::Code::kUnavailable);
  EXPECT_NE(status.reason().find("does not exist"), std::string::npos);
}

TEST_F(SyslogFileSourceTest, Rfc3164FixtureBacklogThenLive) {
  const std::string fixture = ReadText(KmsgFixture("syslog-rfc3164.log"));
  Append(fixture);
  auto source = Make();
  KmsgTally tally(false);
  ASSERT_TRUE(source.Open(tally).ok());
  EXPECT_EQ(Count(tally, {"table_full", "unknown"}), 0u);
  // 10:48:18 and 10:49:01 in the test's time zone, UTC: this year, two hours after kNow.
  EXPECT_DOUBLE_EQ(tally.snapshot().last_seen.at("table_full"), kNow + 7205);
  EXPECT_DOUBLE_EQ(tally.snapshot().last_seen.at("expectation_table_full"), kNow + 7248);

  Append(fixture);
  ASSERT_TRUE(source.Pump(tally).ok());
  // The sshd, logger and audit lines contain the words but are not the kernel's message.
  EXPECT_EQ(Count(tally, {"table_full", "unknown"}), 3u);
  EXPECT_EQ(Count(tally, {"expectation_table_full", "unknown"}), 1u);
  EXPECT_EQ(tally.snapshot().suppressed, 1234u);
}

TEST_F(SyslogFileSourceTest, Rfc3339FixtureWithNetns) {
  auto source = Make();
  Append("");
  KmsgTally tally(true);
  ASSERT_TRUE(source.Open(tally).ok());
  Append(ReadText(KmsgFixture("syslog-rfc3339.log")));
  ASSERT_TRUE(source.Pump(tally).ok());
  EXPECT_EQ(Count(tally, {"table_full", "4026532177"}), 2u);
  EXPECT_EQ(Count(tally, {"table_full", "init"}), 1u);
  EXPECT_EQ(tally.snapshot().suppressed, 7u);
  EXPECT_DOUBLE_EQ(tally.snapshot().last_seen.at("table_full"), kNow + 2);  // 08:48:15Z
}

TEST_F(SyslogFileSourceTest, PartialLinesWaitForTheirNewline) {
  std::string line(kLine);
  Append(line.substr(0, 30));  // being written while we start: part of the backlog
  auto source = Make();
  KmsgTally tally(false);
  ASSERT_TRUE(source.Open(tally).ok());
  Append(line.substr(30));
  Append(line.substr(0, 50));
  ASSERT_TRUE(source.Pump(tally).ok());
  EXPECT_EQ(Count(tally, {"table_full", "unknown"}), 0u);
  EXPECT_TRUE(tally.snapshot().last_seen.contains("table_full"));
  Append(line.substr(50));
  ASSERT_TRUE(source.Pump(tally).ok());
  EXPECT_EQ(Count(tally, {"table_full", "unknown"}), 1u);
}

TEST_F(SyslogFileSourceTest, FollowsRenameRotation) {
  Append(kLine);
  auto source = Make();
  KmsgTally tally(false);
  ASSERT_TRUE(source.Open(tally).ok());
  Append(kLine);
  // logrotate: rename, the logger still writes one line to the old file, then the new file.
  std::filesystem::rename(path_, dir_ / "kern.log.1");
  std::ofstream(dir_ / "kern.log.1", std::ios::app) << kLine;
  ASSERT_TRUE(source.Pump(tally).ok());  // path missing: keeps reading the old file
  EXPECT_EQ(Count(tally, {"table_full", "unknown"}), 2u);
  Append(kLine);
  Append(kLine);
  ASSERT_TRUE(source.Pump(tally).ok());
  EXPECT_EQ(Count(tally, {"table_full", "unknown"}), 4u);
  Append(kLine);
  ASSERT_TRUE(source.Pump(tally).ok());
  EXPECT_EQ(Count(tally, {"table_full", "unknown"}), 5u);
}

TEST_F(SyslogFileSourceTest, RetiredFileIsDrainedDuringTheGrace) {
  Append("");
  SyslogFileSource source(path_, [] { return kNow; }, {10, std::chrono::seconds(60)});
  KmsgTally tally(false);
  ASSERT_TRUE(source.Open(tally).ok());
  std::filesystem::rename(path_, dir_ / "kern.log.1");
  Append(kLine);  // the new file
  ASSERT_TRUE(source.Pump(tally).ok());
  EXPECT_EQ(Count(tally, {"table_full", "unknown"}), 1u);
  // The logger had not reopened yet: a late line in the renamed file still counts.
  std::ofstream(dir_ / "kern.log.1", std::ios::app) << kLine;
  ASSERT_TRUE(source.Pump(tally).ok());
  EXPECT_EQ(Count(tally, {"table_full", "unknown"}), 2u);
}

TEST_F(SyslogFileSourceTest, FollowsCopyTruncate) {
  Append(kLine);
  Append(kLine);
  auto source = Make();
  KmsgTally tally(false);
  ASSERT_TRUE(source.Open(tally).ok());
  std::filesystem::resize_file(path_, 0);
  Append(kLine);
  ASSERT_TRUE(source.Pump(tally).ok());
  EXPECT_EQ(Count(tally, {"table_full", "unknown"}), 1u);
}

TEST_F(SyslogFileSourceTest, OverlongLinesAreLost) {
  Append("");
  auto source = Make();
  KmsgTally tally(false);
  ASSERT_TRUE(source.Open(tally).ok());
  Append(std::string(SyslogFileSource::kMaxLineBytes + 100, 'x') + "\n");
  Append(kLine);
  ASSERT_TRUE(source.Pump(tally).ok());
  EXPECT_EQ(tally.snapshot().lost, 1u);
  EXPECT_EQ(Count(tally, {"table_full", "unknown"}), 1u);
}

TEST_F(SyslogFileSourceTest, LongBacklogReadsOnlyTheEnd) {
  std::string filler = "Jun  8 10:00:00 gw1 kernel: [1.0] " + std::string(200, 'y') + "\n";
  std::string old_line(kLine);
  old_line.replace(0, 15, "Jun  8 09:00:00");
  Append(old_line);  // far before the last 4 MiB
  std::string block;
  while (block.size() < SyslogFileSource::kBacklogBytes + 1000) block += filler;
  Append(block);
  auto source = Make();
  KmsgTally tally(false);
  ASSERT_TRUE(source.Open(tally).ok());
  EXPECT_FALSE(tally.snapshot().last_seen.contains("table_full"));
}

}  // namespace
}  // namespace nfct
