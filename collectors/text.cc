#include "collectors/text.h"

namespace nfct {

std::string_view TakeField(std::string_view& text) {
  constexpr std::string_view kSpace = " \t\n";
  size_t start = text.find_first_not_of(kSpace);
  if (start == std::string_view::npos) {
    text = {};
    return {};
  }
  size_t end = text.find_first_of(kSpace, start);
  if (end == std::string_view::npos) end = text.size();
  std::string_view field = text.substr(start, end - start);
  text.remove_prefix(end);
  return field;
}

std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  for (auto field = TakeField(line); !field.empty(); field = TakeField(line)) {
    fields.push_back(field);
  }
  return fields;
}

std::optional<uint32_t> ParseHex32(std::string_view text) {
  if (text.empty() || text.size() > 8) return std::nullopt;
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<uint64_t> ParseSysctlNumber(std::string_view text) {
  size_t end = text.find_last_not_of(" \t\n");
  if (end == std::string_view::npos) return std::nullopt;
  return ParseInteger<uint64_t>(text.substr(0, end + 1));
}

WholeNumber ParseWholeNumber(std::string_view text, long long min, long long max) {
  auto n = ParseInteger<long long>(text);
  if (!n || *n < min || *n > max) {
    return {0, "must be a whole number from " + std::to_string(min) + " to " + std::to_string(max)};
  }
  return {*n, ""};
}

}  // namespace nfct
