// Splits a recorded /dev/kmsg text (one record per line, continuation lines starting with a
// space) back into records, each ending in "\n". Shared by the kmsg tests and the benchmark;
// no gtest here so the benchmark can include it. Pure function.
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace nfct::testing {

inline std::vector<std::string> SplitKmsgRecords(const std::string& text) {
  std::vector<std::string> records;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] == ' ' && !records.empty()) {
      records.back() += line + "\n";
    } else {
      records.push_back(line + "\n");
    }
  }
  return records;
}

}  // namespace nfct::testing
