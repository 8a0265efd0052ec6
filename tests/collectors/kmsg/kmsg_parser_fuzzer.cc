// libFuzzer target for the kmsg record parser and matcher, the syslog-line parser and the small
// parsers: none may crash, hang or read out of bounds on any input, and results must point into
// the input. Built with clang++ -fsanitize=fuzzer,address,undefined (see CMakeLists.txt).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "collectors/kmsg/kmsg_match.h"
#include "collectors/kmsg/kmsg_syslog_line.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

bool Inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nfct;
  std::string_view input(reinterpret_cast<const char*>(data), size);

  KmsgClassified classified = ClassifyKmsgRecord(input);
  if (classified.parse.ok()) {
    Check(Inside(classified.parse.record.text, input));
    Check(classified.parse.record.prio <= 2047);
    if (classified.parse.record.facility() != 0) Check(classified.match.event == LogEvent::kNone);
  } else {
    Check(classified.match.event == LogEvent::kNone);
  }
  LogMatch match = MatchKernelMessage(input);
  if (match.netns) Check(match.event == LogEvent::kTableFull);
  if (match.event != LogEvent::kSuppressed) Check(match.suppressed == 0);

  std::string unescaped = UnescapeKmsgText(input);
  Check(unescaped.size() <= input.size());

  if (auto line = ParseSyslogKernelLine(input)) {
    Check(Inside(line->message, input));
    Check(line->time.month >= 1 && line->time.month <= 12);
    SyslogTimeToEpoch(line->time, 1.7e9);
    MatchKernelMessage(line->message);
  }
  ParseJournaldMissed(input);
  ParseKernelRelease(input);
  return 0;
}
