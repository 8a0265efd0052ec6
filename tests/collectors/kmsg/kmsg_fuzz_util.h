// Checks shared by the kmsg collector's libFuzzer targets (kmsg_parser_fuzzer,
// kmsg_journald_fields_fuzzer): abort on a broken invariant so libFuzzer keeps the input, and
// whether a parser's result points into its input. Pure; thread safe.
#pragma once

#include <cstdlib>
#include <string_view>

namespace nfct::testing {

inline void Check(bool condition) {
  if (!condition) std::abort();
}

inline bool Inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace nfct::testing
