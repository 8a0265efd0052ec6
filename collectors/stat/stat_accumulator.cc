#include "collectors/stat/stat_accumulator.h"

#include "collectors/stat/stat_counters.h"

namespace nfct {

const std::map<std::string, uint64_t, std::less<>>& StatAccumulator::Update(
    const StatTable& table) {
  for (size_t c = 0; c < table.columns.size(); ++c) {
    // "entries" is the namespace total repeated on every row, not a per-CPU counter.
    if (FindStatCounter(table.columns[c]) == nullptr) continue;
    Column& column = columns_[table.columns[c]];
    for (size_t cpu = 0; cpu < table.rows.size(); ++cpu) {
      uint32_t raw = table.rows[cpu][c];
      if (cpu < column.previous.size()) {
        column.total += static_cast<uint32_t>(raw - column.previous[cpu]);  // modulo 2^32
        column.previous[cpu] = raw;
      } else {
        // A CPU seen for the first time counts from zero.
        column.total += raw;
        column.previous.push_back(raw);
      }
    }
    totals_[table.columns[c]] = column.total;
  }
  return totals_;
}

}  // namespace nfct
