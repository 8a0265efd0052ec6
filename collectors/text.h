// Small pure text helpers shared by the parsers of kernel files. Thread safe (no state).
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nfct {

// The whole of `text` as a decimal integer of type T: no spaces, no sign for unsigned types, no
// overflow; nullopt for anything else (an empty string included).
template <typename T>
std::optional<T> ParseInteger(std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// A flag's whole number in [min, max], or the error ("must be a whole number from min to max").
// One wording for every count flag: the exporter's, doctor's and the collectors' options.
struct WholeNumber {
  long long value = 0;
  std::string error;  // "" when value is set
};
WholeNumber ParseWholeNumber(std::string_view text, long long min, long long max);

// ParseInteger into `out`, which is left alone on failure: for parsers filling a struct field
// by field.
template <typename T>
bool ParseDecimal(std::string_view text, T& out) {
  auto value = ParseInteger<T>(text);
  if (value) out = *value;
  return value.has_value();
}

// Removes `prefix` from the front of `text` if it is there; says whether it was.
inline bool Consume(std::string_view& text, std::string_view prefix) {
  if (!text.starts_with(prefix)) return false;
  text.remove_prefix(prefix.size());
  return true;
}

// The first line of `text` without its newline, removed from it with the newline: for parsers
// that walk a file line by line.
inline std::string_view TakeLine(std::string_view& text) {
  size_t newline = text.find('\n');
  std::string_view line = text.substr(0, newline);
  text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
  return line;
}

// Leading decimal digits of `text`, removed from it; empty when there are none.
inline std::string_view TakeDigits(std::string_view& text) {
  size_t n = 0;
  while (n < text.size() && text[n] >= '0' && text[n] <= '9') ++n;
  std::string_view digits = text.substr(0, n);
  text.remove_prefix(n);
  return digits;
}

// `text` without trailing spaces, tabs, carriage returns and newlines.
inline std::string_view TrimTrailingSpace(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

// The whole of `text`, 1 to 8 hex digits of either case, as a 32-bit value (procfs "%08x").
std::optional<uint32_t> ParseHex32(std::string_view text);

// A sysctl value file: one unsigned decimal, optionally followed by whitespace, e.g. "262144\n"
// (every kernel since 2.6). Anything else is rejected.
std::optional<uint64_t> ParseSysctlNumber(std::string_view text);

// Splits on runs of spaces, tabs and newlines; no empty fields. Views point into `line`.
std::vector<std::string_view> SplitFields(std::string_view line);
// The first field of `text` as SplitFields sees them, removed from `text`; empty when none is
// left. Walks the fields of a line read on every scrape without collecting them in a vector.
std::string_view TakeField(std::string_view& text);

}  // namespace nfct
