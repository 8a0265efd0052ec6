#include "collectors/stat/stat_parser.h"

#include "collectors/text.h"

namespace nfct {
namespace {

bool IsColumnName(std::string_view name) {
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || c == '_')) return false;
  }
  return !name.empty();
}

}  // namespace

std::variant<StatTable, StatParseError> ParseStatTable(std::string_view text) {
  StatTable table;
  size_t line_number = 0;
  while (!text.empty()) {
    std::string_view line = TakeLine(text);
    ++line_number;
    // Fields are walked, not collected: this runs on every scrape.
    size_t count = 0;
    for (std::string_view rest = line; !TakeField(rest).empty();) ++count;
    if (line_number == 1) {
      if (count == 0) return StatParseError{"empty header line"};
      table.columns.reserve(count);
      for (std::string_view rest = line, field = TakeField(rest); !field.empty();
           field = TakeField(rest)) {
        if (!IsColumnName(field)) {
          return StatParseError{"header field \"" + std::string(field) + "\" is not a name"};
        }
        // A repeated name would be folded twice by the accumulator, each copy taking the
        // other's value for its previous one: a jump of 2^32 per scrape (found by fuzzing).
        for (const auto& seen : table.columns) {
          if (seen == field) {
            return StatParseError{"header names column \"" + std::string(field) + "\" twice"};
          }
        }
        table.columns.emplace_back(field);
      }
      continue;
    }
    if (count == 0 && text.empty()) break;  // trailing newline
    if (count != table.columns.size()) {
      return StatParseError{"line " + std::to_string(line_number) + " has " +
                            std::to_string(count) + " fields, header has " +
                            std::to_string(table.columns.size())};
    }
    auto& row = table.rows.emplace_back(count);
    std::string_view rest = line;
    for (size_t i = 0; i < count; ++i) {
      std::string_view field = TakeField(rest);
      auto value = ParseHex32(field);
      if (!value) {
        return StatParseError{"line " + std::to_string(line_number) + " field \"" +
                              std::string(field) + "\" is not 32-bit hex"};
      }
      row[i] = *value;
    }
  }
  if (table.columns.empty()) return StatParseError{"empty file"};
  if (table.rows.empty()) return StatParseError{"no CPU rows after the header"};
  return table;
}

}  // namespace nfct
