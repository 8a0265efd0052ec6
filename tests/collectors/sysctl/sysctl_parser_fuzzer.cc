// libFuzzer target for the sysctl value and timeout-name parsers: a number parses only from
// digits and whitespace, and re-printing it parses back to the same value. Seeded with every
// fixture root (tests/CMakeLists.txt).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "collectors/sysctl/sysctl_parser.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nfct;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto number = ParseSysctlNumber(input)) {
    Check(!input.empty() && input.front() >= '0' && input.front() <= '9');
    Check(ParseSysctlNumber(std::to_string(*number) + "\n") == number);
  }
  if (auto name = ParseTimeoutName(input)) {
    Check(!name->protocol.empty() && !name->state.empty());
    Check(input.find(name->protocol) != std::string_view::npos);
  }
  return 0;
}
