// Small pure text helpers shared by the parsers of kernel files. Thread safe (no state).
#pragma once

#include <string_view>
#include <vector>

namespace nfct {

// Splits on runs of spaces, tabs and newlines; no empty fields. Views point into `line`.
std::vector<std::string_view> SplitFields(std::string_view line);

}  // namespace nfct
