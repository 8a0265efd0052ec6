// The sd-journal functions of libsystemd, loaded with dlopen when the journald source first opens,
// so that an exporter not reading journald maps neither libsystemd nor what it pulls in (libgcrypt,
// libgpg-error, liblzma, libzstd, liblz4: ~0.8 MB of resident memory). Called by the journald
// source (kmsg_journald.cc) and its tests; LoadSdJournal is thread safe (it loads once).
#pragma once

#include <systemd/sd-id128.h>
#include <systemd/sd-journal.h>

#include <memory>
#include <string>

namespace nfct {

// The library's run-time name (Debian package libsystemd0).
inline constexpr char kLibsystemd[] = "libsystemd.so.0";

// Every function the journald source calls, each a member of the same name and type.
// clang-format off
#define NFCT_SD_JOURNAL_FUNCTIONS(X) \
  X(sd_id128_get_boot)               \
  X(sd_journal_open)                 \
  X(sd_journal_open_directory)       \
  X(sd_journal_close)                \
  X(sd_journal_get_fd)               \
  X(sd_journal_get_events)           \
  X(sd_journal_get_timeout)          \
  X(sd_journal_process)              \
  X(sd_journal_has_runtime_files)    \
  X(sd_journal_has_persistent_files) \
  X(sd_journal_add_match)            \
  X(sd_journal_add_disjunction)      \
  X(sd_journal_seek_head)            \
  X(sd_journal_seek_tail)            \
  X(sd_journal_seek_cursor)          \
  X(sd_journal_previous)             \
  X(sd_journal_next)                 \
  X(sd_journal_get_cursor)           \
  X(sd_journal_get_data)             \
  X(sd_journal_get_monotonic_usec)   \
  X(sd_journal_get_realtime_usec)
// clang-format on

struct SdJournalApi {
#define NFCT_SD_JOURNAL_MEMBER(name) decltype(&::name) name = nullptr;
  NFCT_SD_JOURNAL_FUNCTIONS(NFCT_SD_JOURNAL_MEMBER)
#undef NFCT_SD_JOURNAL_MEMBER
};

struct LoadedSdJournal {
  std::unique_ptr<const SdJournalApi> api;  // null: `error` says why
  std::string error;
};

// kLibsystemd, loaded on the first call; every later call returns the same answer, kept for the
// life of the process.
const LoadedSdJournal& LoadSdJournal();

// Loads `library` now, without caching (the tests name a library that does not exist).
LoadedSdJournal LoadSdJournalFrom(const char* library);

}  // namespace nfct
