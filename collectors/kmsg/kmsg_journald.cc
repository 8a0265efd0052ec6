#include "collectors/kmsg/kmsg_journald.h"

#ifdef NFCT_HAVE_SYSTEMD
#include <time.h>

#include <algorithm>
#include <cstring>
#include <string>
#endif

#include "collectors/env.h"
#ifdef NFCT_HAVE_SYSTEMD
#include "collectors/kmsg/kmsg_journald_api.h"
#endif
#include "collectors/kmsg/kmsg_journald_fields.h"
#include "collectors/privilege.h"

namespace nfct {

#ifndef NFCT_HAVE_SYSTEMD

bool JournaldSupported() { return false; }

namespace {
class UnsupportedSource : public LogSource {
 public:
  Status Open(KmsgTally&) override {
    return Status::Unavailable("this build has no journald support (built without libsystemd-dev)");
  }
  Status Pump(KmsgTally& tally) override { return Open(tally); }
  WaitSpec Wait() const override { return {-1, POLLIN, 60000}; }
  void Close() override {}
};
}  // namespace

std::unique_ptr<LogSource> MakeJournaldSource(std::filesystem::path, std::function<double()>) {
  return std::make_unique<UnsupportedSource>();
}

#else  // NFCT_HAVE_SYSTEMD

bool JournaldSupported() { return true; }

namespace {

// A bound on the backward scan for last-seen timestamps at start.
constexpr int kMaxBacklogEntries = 1'000'000;
constexpr int kMaxEntriesPerPump = 4096;

std::string Errno(int negative_errno) { return std::strerror(-negative_errno); }

class JournaldSource : public LogSource {
 public:
  JournaldSource(std::filesystem::path directory, std::function<double()> boot_time)
      : directory_(std::move(directory)), boot_time_(std::move(boot_time)) {}
  ~JournaldSource() override { Close(); }
  JournaldSource(const JournaldSource&) = delete;
  JournaldSource& operator=(const JournaldSource&) = delete;

  Status Open(KmsgTally& tally) override;
  Status Pump(KmsgTally& tally) override;
  WaitSpec Wait() const override;
  void Close() override {
    if (journal_ != nullptr) sd_->sd_journal_close(journal_);
    journal_ = nullptr;
  }
  // Journal files not readable by the exporter's groups: sd_journal opens them at Open and
  // whenever journald rotates, so Open and Pump raise it (collectors/privilege.h).
  std::vector<Capability> Capabilities() const override { return {Capability::kDacReadSearch}; }

 private:
  Status OpenJournal();
  void ScanBacklog(KmsgTally& tally);
  LogEvent HandleEntry(KmsgTally& tally, bool live);
  std::string_view Field(const char* name) const;
  double EntryTime(std::optional<uint64_t> source_usec) const;

  std::filesystem::path directory_;
  std::function<double()> boot_time_;
  const SdJournalApi* sd_ = nullptr;  // set by the first Open that could load libsystemd
  sd_journal* journal_ = nullptr;
  sd_id128_t boot_id_{};
  bool have_boot_id_ = false;
};

Status JournaldSource::OpenJournal() {
  std::string where = directory_.empty() ? "the system journal" : directory_.string();
  if (!directory_.empty() && !std::filesystem::is_directory(directory_)) {
    return Status::Unavailable("no journal directory " + directory_.string());
  }
  int r = directory_.empty()
              ? sd_->sd_journal_open(&journal_, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM)
              : sd_->sd_journal_open_directory(&journal_, directory_.c_str(), 0);
  if (r < 0) {
    journal_ = nullptr;
    return Status::Unavailable("cannot open " + where + ": " + Errno(r));
  }
  // Asked for right after opening, so that files created from now on are watched.
  if ((r = sd_->sd_journal_get_fd(journal_)) < 0) {
    Close();
    return Status::Error("cannot watch " + where + ": " + Errno(r));
  }
  if (directory_.empty() && sd_->sd_journal_has_runtime_files(journal_) <= 0 &&
      sd_->sd_journal_has_persistent_files(journal_) <= 0) {
    Close();
    return Status::Unavailable(
        "no readable journal files in /run/log/journal or /var/log/journal (journald not "
        "running, or not in group systemd-journal or adm)");
  }
  std::string missed = "MESSAGE_ID=" + std::string(kJournaldMissedId);
  if ((r = sd_->sd_journal_add_match(journal_, "_TRANSPORT=kernel", 0)) < 0 ||
      (r = sd_->sd_journal_add_disjunction(journal_)) < 0 ||
      (r = sd_->sd_journal_add_match(journal_, missed.c_str(), 0)) < 0) {
    Close();
    return Status::Error("cannot filter " + where + ": " + Errno(r));
  }
  return Status::Ok();
}

Status JournaldSource::Open(KmsgTally& tally) {
  const LoadedSdJournal& loaded = LoadSdJournal();
  if (loaded.api == nullptr) return Status::Unavailable(loaded.error);
  sd_ = loaded.api.get();
  ScopedCapability dac_read_search(Capability::kDacReadSearch);
  Close();
  have_boot_id_ = sd_->sd_id128_get_boot(&boot_id_) >= 0;
  if (Status status = OpenJournal(); !status.ok()) return status;
  ScanBacklog(tally);
  return Status::Ok();
}

// Remembers the newest entry, scans backwards for the newest line of each message (the backlog
// only sets timestamps; with an observer, such as the doctor's, every line up to the bound),
// then stands on that newest entry so that Pump reads what follows it.
void JournaldSource::ScanBacklog(KmsgTally& tally) {
  sd_->sd_journal_seek_tail(journal_);
  char* cursor = nullptr;
  if (sd_->sd_journal_previous(journal_) > 0) sd_->sd_journal_get_cursor(journal_, &cursor);
  if (cursor == nullptr) {
    sd_->sd_journal_seek_head(journal_);  // empty: every entry that appears is new
    return;
  }
  bool table_full = false, expectation = false;
  const bool every_line = tally.WantsEveryBacklogLine();
  for (int n = 0; n < kMaxBacklogEntries && (every_line || !(table_full && expectation)); ++n) {
    LogEvent event = HandleEntry(tally, false);
    table_full |= event == LogEvent::kTableFull;
    expectation |= event == LogEvent::kExpectationTableFull;
    if (sd_->sd_journal_previous(journal_) <= 0) break;
  }
  sd_->sd_journal_seek_cursor(journal_, cursor);
  sd_->sd_journal_next(journal_);
  free(cursor);
}

std::string_view JournaldSource::Field(const char* name) const {
  const void* data = nullptr;
  size_t length = 0;
  if (sd_->sd_journal_get_data(journal_, name, &data, &length) < 0) return {};
  return JournaldFieldValue(std::string_view(static_cast<const char*>(data), length));
}

// An entry of this boot is placed by the kernel's own timestamp; others by when journald
// received them.
double JournaldSource::EntryTime(std::optional<uint64_t> source_usec) const {
  uint64_t monotonic = 0;
  sd_id128_t entry_boot{};
  if (have_boot_id_ && source_usec &&
      sd_->sd_journal_get_monotonic_usec(journal_, &monotonic, &entry_boot) >= 0 &&
      sd_id128_equal(entry_boot, boot_id_)) {
    return boot_time_() + static_cast<double>(*source_usec) / 1e6;
  }
  uint64_t realtime = 0;
  sd_->sd_journal_get_realtime_usec(journal_, &realtime);
  return static_cast<double>(realtime) / 1e6;
}

LogEvent JournaldSource::HandleEntry(KmsgTally& tally, bool live) {
  // sd_journal_get_data's data is valid only until its next call: every field but the last one
  // read is copied out.
  const std::string transport(Field("_TRANSPORT"));
  std::string facility, source_monotonic, message_id;
  if (transport == "kernel") {
    facility = Field("SYSLOG_FACILITY");
    source_monotonic = Field("_SOURCE_MONOTONIC_TIMESTAMP");
  } else {
    message_id = Field("MESSAGE_ID");
  }
  JournaldEntry entry{transport, facility, Field("MESSAGE"), message_id, source_monotonic};
  JournaldClassified classified = ClassifyJournaldEntry(entry, live);
  if (classified.missed) tally.AddLost(*classified.missed);
  if (classified.match.event != LogEvent::kNone) {
    tally.Observe(classified.match, EntryTime(classified.source_usec), live);
  }
  return classified.match.event;
}

Status JournaldSource::Pump(KmsgTally& tally) {
  if (journal_ == nullptr) return Status::Error("the journal is not open");
  ScopedCapability dac_read_search(Capability::kDacReadSearch);
  int r = sd_->sd_journal_process(journal_);
  if (r < 0) return Status::Error("following the journal: " + Errno(r));
  for (int n = 0; n < kMaxEntriesPerPump; ++n) {
    r = sd_->sd_journal_next(journal_);
    if (r < 0) return Status::Error("reading the journal: " + Errno(r));
    if (r == 0) break;
    HandleEntry(tally, true);
  }
  return Status::Ok();
}

WaitSpec JournaldSource::Wait() const {
  // A capped timeout also picks up entries when the descriptor says nothing (journal files
  // replaced under us); reading the end of a journal costs microseconds.
  WaitSpec wait{-1, POLLIN, 1000};
  if (journal_ == nullptr) return wait;
  int fd = sd_->sd_journal_get_fd(journal_);
  int events = sd_->sd_journal_get_events(journal_);
  if (fd >= 0 && events > 0) {
    wait.fd = fd;
    wait.events = static_cast<short>(events);
  }
  uint64_t timeout = 0;
  if (sd_->sd_journal_get_timeout(journal_, &timeout) >= 0 && timeout != UINT64_MAX) {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t now_usec = static_cast<uint64_t>(now.tv_sec) * 1000000 + now.tv_nsec / 1000;
    uint64_t ms = timeout > now_usec ? (timeout - now_usec + 999) / 1000 : 0;
    wait.timeout_ms = static_cast<int>(std::min<uint64_t>(ms, 1000));
  }
  return wait;
}

}  // namespace

std::unique_ptr<LogSource> MakeJournaldSource(std::filesystem::path directory,
                                              std::function<double()> boot_time) {
  return std::make_unique<JournaldSource>(std::move(directory), std::move(boot_time));
}

#endif  // NFCT_HAVE_SYSTEMD

}  // namespace nfct
