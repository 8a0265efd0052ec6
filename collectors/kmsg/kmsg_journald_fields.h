// What the journald source makes of one journal entry, from the fields journald stores for a
// kernel record (systemd src/journal/journald-kmsg.c) and from its "Missed N kernel messages"
// note, as sd_journal_get_data returns them ("NAME=value"; the value may hold any bytes):
//   _TRANSPORT=kernel  SYSLOG_FACILITY=0  _SOURCE_MONOTONIC_TIMESTAMP=1500000
//   MESSAGE=nf_conntrack: nf_conntrack: table full in netns 4026532177, dropping packet
// Called by the journald source (kmsg_journald.cc) and the fuzzer. Pure: thread safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "collectors/kmsg/kmsg_match.h"

namespace nfct {

// SD_MESSAGE_JOURNAL_MISSED: journald noticed a gap in the kernel's sequence numbers.
inline constexpr std::string_view kJournaldMissedId = "e9bf28e6e834481bb6f48f548ad13606";

// The value of a field as sd_journal_get_data returns it: what follows the first '=', or empty
// when there is no '='.
std::string_view JournaldFieldValue(std::string_view data);

// The values of the fields the source looks at; empty when the entry lacks one.
struct JournaldEntry {
  std::string_view transport;         // _TRANSPORT
  std::string_view facility;          // SYSLOG_FACILITY
  std::string_view message;           // MESSAGE
  std::string_view message_id;        // MESSAGE_ID
  std::string_view source_monotonic;  // _SOURCE_MONOTONIC_TIMESTAMP, microseconds since boot
};

struct JournaldClassified {
  // A conntrack message of a kernel record of facility 0 (a line written into /dev/kmsg from
  // userspace has facility 1 or more, never 0); kNone otherwise.
  LogMatch match;
  // N of journald's "Missed N kernel messages" note; only for live entries, since a note in
  // the backlog is about records lost before the exporter started.
  std::optional<uint64_t> missed;
  // The kernel's own timestamp of a kernel record, when the field is a number.
  std::optional<uint64_t> source_usec;
};

JournaldClassified ClassifyJournaldEntry(const JournaldEntry& entry, bool live);

}  // namespace nfct
