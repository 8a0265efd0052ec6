#include "collectors/kmsg/kmsg_journald_fields.h"

#include "collectors/text.h"

namespace nfct {

std::string_view JournaldFieldValue(std::string_view data) {
  size_t equals = data.find('=');
  return equals == std::string_view::npos ? std::string_view() : data.substr(equals + 1);
}

JournaldClassified ClassifyJournaldEntry(const JournaldEntry& entry, bool live) {
  JournaldClassified classified;
  if (entry.transport != "kernel") {
    if (live && entry.message_id == kJournaldMissedId) {
      classified.missed = ParseJournaldMissed(entry.message);
    }
    return classified;
  }
  if (entry.facility != "0") return classified;
  classified.match = MatchKernelMessage(entry.message);
  if (classified.match.event != LogEvent::kNone) {
    classified.source_usec = ParseInteger<uint64_t>(entry.source_monotonic);
  }
  return classified;
}

}  // namespace nfct
