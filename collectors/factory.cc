#include "collectors/factory.h"

namespace nfct {

std::string_view OptionValue(const OptionValues& values, const CollectorOption& option) {
  auto it = values.find(option.name);
  return it == values.end() ? option.default_value : std::string_view(it->second);
}

}  // namespace nfct
