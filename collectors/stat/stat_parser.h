// Parses /proc/net/stat/nf_conntrack: a header line of column names, then one row per possible
// CPU (no CPU id), every field %08x hex. Columns are found by name, never by position. E.g. 6.x:
//   entries  clashres found new invalid ignore delete chainlength insert insert_failed drop ...
//   00000000  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 ...
// Known headers: <= 5.9 (searched, delete_list), 5.10-5.14 (clashres), >= 5.15 (chainlength),
// and very old 16-column tables without search_restart. Pure: no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace nfct {

// Per-CPU counter values by column; rows[cpu][column]. Kernel per-CPU counters are 32 bit.
struct StatTable {
  std::vector<std::string> columns;
  std::vector<std::vector<uint32_t>> rows;
};

struct StatParseError {
  std::string message;
};

std::variant<StatTable, StatParseError> ParseStatTable(std::string_view text);

}  // namespace nfct
