#include "collectors/stat/stat_parser.h"

#include "collectors/text.h"

namespace nfct {
namespace {

bool ParseHex32(std::string_view field, uint32_t& value) {
  if (field.empty() || field.size() > 8) return false;
  uint32_t result = 0;
  for (char c : field) {
    uint32_t digit;
    if (c >= '0' && c <= '9') {
      digit = static_cast<uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<uint32_t>(c - 'A' + 10);
    } else {
      return false;
    }
    result = result << 4 | digit;
  }
  value = result;
  return true;
}

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
    size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    ++line_number;
    auto fields = SplitFields(line);
    if (line_number == 1) {
      if (fields.empty()) return StatParseError{"empty header line"};
      for (auto field : fields) {
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
    if (fields.empty() && text.empty()) break;  // trailing newline
    if (fields.size() != table.columns.size()) {
      return StatParseError{"line " + std::to_string(line_number) + " has " +
                            std::to_string(fields.size()) + " fields, header has " +
                            std::to_string(table.columns.size())};
    }
    auto& row = table.rows.emplace_back(fields.size());
    for (size_t i = 0; i < fields.size(); ++i) {
      if (!ParseHex32(fields[i], row[i])) {
        return StatParseError{"line " + std::to_string(line_number) + " field \"" +
                              std::string(fields[i]) + "\" is not 32-bit hex"};
      }
    }
  }
  if (table.columns.empty()) return StatParseError{"empty file"};
  if (table.rows.empty()) return StatParseError{"no CPU rows after the header"};
  return table;
}

}  // namespace nfct
