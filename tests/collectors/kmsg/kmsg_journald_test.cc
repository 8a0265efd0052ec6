// The journald source on journal files made by systemd-journal-remote from export-format
// fixtures (no running journald needed): backlog → timestamps only, appended entries count,
// facility-1 and non-kernel entries never do, journald's "Missed N" notes are lost records.
#include "collectors/kmsg/kmsg_journald.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "tests/collectors/kmsg/kmsg_test_util.h"

#if __has_include(<systemd/sd-journal.h>)
#include "collectors/kmsg/kmsg_journald_api.h"
#define NFCT_TEST_SD_JOURNAL_API 1
#endif

namespace nfct {
namespace {

using testing::KmsgFixture;
using testing::ReadText;

constexpr double kBoot = 1'800'000'000;

std::string JournalRemote() {
  for (const char* path :
       {"/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return "";
}

std::string BootId() {
  std::string id = ReadText("/proc/sys/kernel/random/boot_id");
  std::erase(id, '-');
  std::erase(id, '\n');
  return id;
}

class JournaldSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!JournaldSupported()) GTEST_SKIP() << "built without libsystemd";
    tool_ = JournalRemote();
    if (tool_.empty()) {
      GTEST_SKIP() << "needs systemd-journal-remote (Debian package systemd-journal-remote)";
    }
    dir_ = std::filesystem::temp_directory_path() /
           ("nfct-kmsg-journal-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // Appends the fixture's entries to <subdir>/remote.journal (journald's layout is
  // /var/log/journal/<machine-id>/system.journal).
  void Write(std::string_view fixture, std::filesystem::path subdir = "") {
    std::string text = ReadText(KmsgFixture(fixture));
    for (size_t at; (at = text.find("@BOOT_ID@")) != std::string::npos;) {
      text.replace(at, 9, BootId());
    }
    std::filesystem::create_directories(dir_ / subdir);
    auto input = dir_ / "input.export";
    std::ofstream(input) << text;
    pid_t pid = fork();
    if (pid == 0) {
      std::string output = "--output=" + (dir_ / subdir / "remote.journal").string();
      execl(tool_.c_str(), tool_.c_str(), output.c_str(), input.c_str(), (char*)nullptr);
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << tool_ << " failed";
  }

  std::string tool_;
  std::filesystem::path dir_;
};

TEST_F(JournaldSourceTest, BacklogThenAppendedEntries) {
  Write("journal-backlog.export");
  auto source = MakeJournaldSource(dir_, [] { return kBoot; });
  KmsgTally tally(true);
  ASSERT_TRUE(source->Open(tally).ok());
  // Backlog: the table-full line of another boot is placed by its receive time; the facility-1
  // line after it is ignored; nothing counts.
  EXPECT_EQ(tally.snapshot().messages.at({"table_full", "init"}), 0u);
  EXPECT_EQ(tally.snapshot().suppressed, 0u);
  EXPECT_DOUBLE_EQ(tally.snapshot().last_seen.at("table_full"), 1749372493.0);
  ASSERT_TRUE(source->Pump(tally).ok());
  EXPECT_EQ(tally.snapshot().messages.at({"table_full", "init"}), 0u);

  Write("journal-live.export");
  ASSERT_TRUE(source->Pump(tally).ok());
  std::map<std::pair<std::string, std::string>, uint64_t> want = {
      {{"table_full", "init"}, 0},
      {{"table_full", "4026532177"}, 1},
      {{"expectation_table_full", "unknown"}, 1}};
  EXPECT_EQ(tally.snapshot().messages, want);
  EXPECT_EQ(tally.snapshot().suppressed, 3u);
  EXPECT_EQ(tally.snapshot().lost, 5u);
  // This boot: boot time + the kernel's timestamp; another boot: the receive time.
  EXPECT_DOUBLE_EQ(tally.snapshot().last_seen.at("table_full"), kBoot + 1.5);
  EXPECT_DOUBLE_EQ(tally.snapshot().last_seen.at("expectation_table_full"), 1749372704.0);
  source->Close();
}

TEST_F(JournaldSourceTest, AnObserverSeesEveryBacklogLineNotOnlyTheNewest) {
  // Both files before Open: the newest table-full and expectation lines are in the second,
  // where a scan for last-seen times stops; the doctor's observer needs the older one too.
  Write("journal-backlog.export");
  Write("journal-live.export");
  auto source = MakeJournaldSource(dir_, [] { return kBoot; });
  KmsgTally tally(true);
  std::vector<std::pair<std::optional<uint64_t>, double>> table_full;
  tally.SetObserver([&](const LogMatch& match, std::optional<double> wall, bool live) {
    EXPECT_FALSE(live);
    if (match.event == LogEvent::kTableFull) table_full.push_back({match.netns, wall.value_or(0)});
  });
  ASSERT_TRUE(source->Open(tally).ok());
  std::vector<std::pair<std::optional<uint64_t>, double>> want = {{4026532177, kBoot + 1.5},
                                                                  {std::nullopt, 1749372493.0}};
  EXPECT_EQ(table_full, want);  // newest first: the journal is scanned backwards
  EXPECT_EQ(tally.snapshot().messages.at({"table_full", "init"}), 0u) << "backlog never counts";

  KmsgTally plain(true);
  auto again = MakeJournaldSource(dir_, [] { return kBoot; });
  ASSERT_TRUE(again->Open(plain).ok());
  EXPECT_DOUBLE_EQ(plain.snapshot().last_seen.at("table_full"), kBoot + 1.5);
}

TEST_F(JournaldSourceTest, EmptyDirectoryThenFirstFileInAMachineIdDirectory) {
  auto source = MakeJournaldSource(dir_, [] { return kBoot; });
  KmsgTally tally(true);
  ASSERT_TRUE(source->Open(tally).ok());
  Write("journal-live.export", "fedcba9876543210fedcba9876543210");
  ASSERT_TRUE(source->Pump(tally).ok());
  EXPECT_EQ(tally.snapshot().messages.at({"table_full", "4026532177"}), 1u);
}

TEST_F(JournaldSourceTest, MissingDirectoryIsUnavailable) {
  auto source = MakeJournaldSource(dir_ / "nope", [] { return kBoot; });
  KmsgTally tally(true);
  EXPECT_EQ(source->Open(tally).code(), Status::Code::kUnavailable);
}

#ifdef NFCT_TEST_SD_JOURNAL_API
// libsystemd is loaded when the source first opens, not linked: a host without it (a minimal
// container) gets a status naming the library, and a library without the functions is refused.
TEST(JournaldLibrary, LoadedOnceOrExplained) {
  LoadedSdJournal missing = LoadSdJournalFrom("libnfct-no-such-library.so.0");
  EXPECT_EQ(missing.api, nullptr);
  EXPECT_TRUE(
      missing.error.starts_with("journald support needs libnfct-no-such-library.so.0 "
                                "(Debian package libsystemd0), which cannot be loaded: "))
      << missing.error;
  LoadedSdJournal wrong = LoadSdJournalFrom("libz.so.1");
  EXPECT_EQ(wrong.api, nullptr);
  EXPECT_EQ(wrong.error, "libz.so.1 has no sd_id128_get_boot");

  const LoadedSdJournal& loaded = LoadSdJournal();
  if (loaded.api == nullptr) GTEST_SKIP() << loaded.error;
  EXPECT_NE(loaded.api->sd_journal_get_realtime_usec, nullptr);
  EXPECT_EQ(&LoadSdJournal(), &loaded);
}
#endif

TEST(JournaldSystem, NoJournalFilesIsUnavailable) {
  if (!JournaldSupported()) GTEST_SKIP() << "built without libsystemd";
  for (const char* dir : {"/run/log/journal", "/var/log/journal"}) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".journal") {
        GTEST_SKIP() << "this host has journal files: " << entry.path();
      }
    }
  }
  auto source = MakeJournaldSource("", [] { return kBoot; });
  KmsgTally tally(true);
  Status status = source->Open(tally);
  EXPECT_EQ(status.code(), Status::Code::kUnavailable) << status.reason();
}

}  // namespace
}  // namespace nfct
