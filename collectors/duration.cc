#include "collectors/duration.h"

#include <array>
#include <cstdint>
#include <limits>

namespace nfct {

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  struct Unit {
    std::string_view suffix;
    int64_t millis;
  };
  // Longest suffix first where one is a prefix of another ("ms" before "m").
  static constexpr std::array<Unit, 7> kUnits = {{{"y", 365LL * 24 * 3600 * 1000},
                                                  {"w", 7LL * 24 * 3600 * 1000},
                                                  {"d", 24LL * 3600 * 1000},
                                                  {"h", 3600LL * 1000},
                                                  {"ms", 1},
                                                  {"m", 60LL * 1000},
                                                  {"s", 1000}}};
  static constexpr std::array<int, 7> kOrder = {0, 1, 2, 3, 6, 4, 5};  // rank of each unit

  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  int last_rank = -1;
  size_t pos = 0;
  while (pos < text.size()) {
    int64_t number = 0;
    size_t digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (number > (std::numeric_limits<int64_t>::max() - 9) / 10) return std::nullopt;
      number = number * 10 + (text[pos] - '0');
      ++pos;
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    const Unit* unit = nullptr;
    int rank = 0;
    for (size_t i = 0; i < kUnits.size(); ++i) {
      if (text.substr(pos).starts_with(kUnits[i].suffix)) {
        unit = &kUnits[i];
        rank = kOrder[i];
        break;
      }
    }
    if (unit == nullptr || rank <= last_rank) return std::nullopt;
    last_rank = rank;
    pos += unit->suffix.size();
    if (number > std::numeric_limits<int64_t>::max() / unit->millis) return std::nullopt;
    int64_t part = number * unit->millis;
    if (total > std::numeric_limits<int64_t>::max() - part) return std::nullopt;
    total += part;
  }
  return std::chrono::milliseconds(total);
}

std::string PositiveDurationError(std::string_view text) {
  auto duration = ParseDuration(text);
  if (duration && duration->count() > 0) return "";
  return "must be a positive duration such as 30s or 500ms";
}

}  // namespace nfct
