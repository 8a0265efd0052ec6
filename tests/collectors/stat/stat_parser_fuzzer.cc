// libFuzzer target for /proc/net/stat/nf_conntrack: the table parser and the 32-bit wrap
// accumulator fed from it. No input may crash, hang or read out of bounds; a parsed table is
// rectangular; totals only grow. Seeded with every fixture root (tests/CMakeLists.txt).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "collectors/stat/stat_accumulator.h"
#include "collectors/stat/stat_counters.h"
#include "collectors/stat/stat_parser.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nfct;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto parsed = ParseStatTable(input);
  auto* table = std::get_if<StatTable>(&parsed);
  if (table == nullptr) {
    Check(!std::get<StatParseError>(parsed).message.empty());
    return 0;
  }
  for (const auto& row : table->rows) Check(row.size() == table->columns.size());
  for (const auto& column : table->columns) FindStatCounter(column);
  // The same reading twice, then each value shifted: a second fold never lowers a total.
  StatAccumulator accumulator;
  auto first = accumulator.Update(*table);
  auto second = accumulator.Update(*table);
  for (const auto& [column, total] : first) Check(second.at(column) == total);
  StatTable later = *table;
  for (auto& row : later.rows)
    for (auto& value : row) value += 0x9e3779b9u;  // wraps on purpose
  for (const auto& [column, total] : accumulator.Update(later)) {
    auto before = second.find(column);
    Check(before == second.end() || total >= before->second);
  }
  return 0;
}
