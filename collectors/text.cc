#include "collectors/text.h"

namespace nfct {

std::vector<std::string_view> SplitFields(std::string_view line) {
  constexpr std::string_view kSpace = " \t\n";
  std::vector<std::string_view> fields;
  size_t pos = 0;
  while (pos < line.size()) {
    size_t start = line.find_first_not_of(kSpace, pos);
    if (start == std::string_view::npos) break;
    size_t end = line.find_first_of(kSpace, start);
    if (end == std::string_view::npos) end = line.size();
    fields.push_back(line.substr(start, end - start));
    pos = end;
  }
  return fields;
}

}  // namespace nfct
