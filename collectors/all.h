// THE list of collectors: name, default, per-collector options and factory. A newcomer's index:
// every metric the exporter serves is born in a collector listed in all.cc.
// The list is constant; reading it is thread safe.
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

// A collector option becomes the flag --collector.<collector>.<name>.
struct CollectorOption {
  std::string_view name;
  std::string_view default_value;
  std::string_view help;
};

// Option values keyed by option name (without the collector prefix), defaults filled in.
using OptionValues = std::map<std::string, std::string, std::less<>>;

// The collector, or why it could not be built (an invalid option value).
struct MadeCollector {
  std::unique_ptr<Collector> collector;
  std::string error;
};

struct CollectorEntry {
  std::string_view name;
  bool enabled_by_default;
  std::string_view help;
  std::vector<CollectorOption> options;
  std::function<MadeCollector(const Env&, const OptionValues&)> make;
};

const std::vector<CollectorEntry>& AllCollectors();

}  // namespace nfct
