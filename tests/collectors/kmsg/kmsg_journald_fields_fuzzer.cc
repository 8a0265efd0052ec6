// libFuzzer target for the journald source's reading of a journal entry: the input is entries in
// the shape of journald's export format (one "NAME=value" field per line, a blank line between
// entries), each field as sd_journal_get_data would return it. Nothing may crash or read out of
// bounds, and a verdict must follow from the fields: a match only for a facility-0 kernel record,
// a missed count only for journald's live note. Built with clang++ -fsanitize=fuzzer,address,
// undefined (tests/CMakeLists.txt).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "collectors/kmsg/kmsg_journald_fields.h"
#include "tests/collectors/kmsg/kmsg_fuzz_util.h"

namespace {

using nfct::testing::Check;
using nfct::testing::Inside;

// The first field named `name` in the entry, as sd_journal_get_data finds it.
std::string_view Lookup(std::string_view entry, std::string_view name) {
  while (!entry.empty()) {
    size_t end = entry.find('\n');
    std::string_view data = entry.substr(0, end);
    if (data.size() > name.size() && data.starts_with(name) && data[name.size()] == '=') {
      std::string_view value = nfct::JournaldFieldValue(data);
      Check(Inside(value, data) && value.size() == data.size() - name.size() - 1);
      return value;
    }
    entry = end == std::string_view::npos ? std::string_view() : entry.substr(end + 1);
  }
  return {};
}

void CheckEntry(std::string_view text) {
  using namespace nfct;
  JournaldEntry entry{Lookup(text, "_TRANSPORT"), Lookup(text, "SYSLOG_FACILITY"),
                      Lookup(text, "MESSAGE"), Lookup(text, "MESSAGE_ID"),
                      Lookup(text, "_SOURCE_MONOTONIC_TIMESTAMP")};
  for (bool live : {false, true}) {
    JournaldClassified classified = ClassifyJournaldEntry(entry, live);
    if (classified.match.event != LogEvent::kNone) {
      Check(entry.transport == "kernel" && entry.facility == "0");
      Check(classified.match == MatchKernelMessage(entry.message));
    } else {
      Check(!classified.source_usec);
    }
    if (classified.missed) {
      Check(live && entry.transport != "kernel" && entry.message_id == kJournaldMissedId);
      Check(classified.missed == ParseJournaldMissed(entry.message));
    }
    if (classified.source_usec) Check(!entry.source_monotonic.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // A field that is only a name (no '='): sd_journal_get_data never returns one, but the
  // source must not trust that.
  Check(nfct::JournaldFieldValue(input).size() < size || size == 0);
  while (!input.empty()) {
    size_t end = input.find("\n\n");
    CheckEntry(input.substr(0, end));
    input = end == std::string_view::npos ? std::string_view() : input.substr(end + 2);
  }
  return 0;
}
