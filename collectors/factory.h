// How a room is built: the options it declares (each becomes --collector.<name>.<option>), the
// values the exporter hands over, and what its Make<Name>Collector factory returns. Rooms
// include this, never collectors/all.h. Plain data and pure functions: thread safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/collector.h"
#include "collectors/env.h"

namespace nfct {

// One option of one collector, declared in its room beside the code that parses it.
struct CollectorOption {
  std::string_view name;  // without the "collector.<name>." prefix
  std::string_view default_value;
  std::string_view help;
};

// Option values keyed by option name; an option left out means its declared default.
using OptionValues = std::map<std::string, std::string, std::less<>>;

// The collector, or why it could not be built (an invalid option value, named as its flag).
struct MadeCollector {
  std::unique_ptr<Collector> collector;
  std::string error;
};

// The shape every room exports as Make<Name>Collector.
using CollectorFactory = std::function<MadeCollector(const Env&, const OptionValues&)>;

// The value given for `option` in `values`, else its declared default.
std::string_view OptionValue(const OptionValues& values, const CollectorOption& option);

}  // namespace nfct
