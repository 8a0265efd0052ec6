// Turns per-CPU 32-bit kernel counters, which wrap, into 64-bit totals that only ever grow
// across scrapes: it keeps each CPU's previous raw value and adds deltas modulo 2^32.
// Not thread safe; the stat collector guards it with a mutex.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "collectors/stat/stat_parser.h"

namespace nfct {

class StatAccumulator {
 public:
  // Folds one reading in and returns the total of every counter column by kernel column name.
  // The first reading sets each total to the plain sum of its CPUs.
  const std::map<std::string, uint64_t, std::less<>>& Update(const StatTable& table);

 private:
  struct Column {
    std::vector<uint32_t> previous;  // per CPU
    uint64_t total = 0;
  };
  std::map<std::string, Column> columns_;
  std::map<std::string, uint64_t, std::less<>> totals_;
};

}  // namespace nfct
