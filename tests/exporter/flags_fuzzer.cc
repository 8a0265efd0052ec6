// libFuzzer target for the command-line parser: the input is argv, one argument per line. No
// input may crash or hang; an accepted command line is reported without error, a rejected one
// with one line. The collector list has the real ones' shape (names, options with defaults).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/flags.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

const std::vector<nfct::CollectorEntry>& Entries() {
  static const std::vector<nfct::CollectorEntry> kEntries = {
      {"sysctl", true, "Sysctl.", {}, nullptr},
      {"kmsg", true, "Kernel log.", {{"source", "/dev/kmsg", "Source."}}, nullptr},
      {"table",
       true,
       "Table.",
       {{"interval", "30s", "Interval."},
        {"max-entries", "500000", "Max."},
        {"top-ports", "10", "Top."}},
       nullptr},
      {"netns", false, "Netns.", {{"top", "50", "Top."}}, nullptr},
  };
  return kEntries;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args;
  while (!input.empty() && args.size() < 64) {
    size_t end = input.find('\n');
    args.emplace_back(input.substr(0, end));
    input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
  }
  auto parsed = nfct::ParseFlags(args, Entries());
  Check(parsed.error.find('\n') == std::string::npos);
  if (parsed.error.empty()) {
    for (const auto& entry : Entries()) {
      Check(parsed.flags.collector_enabled.count(std::string(entry.name)) == 1);
    }
  }
  return 0;
}
