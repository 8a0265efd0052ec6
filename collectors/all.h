// THE list of collectors: name, default, help, options and factory. A newcomer's index: every
// metric the exporter serves is born in a collector listed in all.cc. The top of collectors/:
// only exporter/ and tests include it, never a collector's folder. The list is constant; thread
// safe.
#pragma once

#include <string_view>
#include <vector>

#include "collectors/factory.h"

namespace nfct {

struct CollectorEntry {
  std::string_view name;  // --collector.<name>, the collector label, its folder
  bool enabled_by_default;
  std::string_view help;
  std::vector<CollectorOption> options;  // declared in the collector's folder
  CollectorFactory make;                 // the folder's Make<Name>Collector
};

const std::vector<CollectorEntry>& AllCollectors();

// Builds `entry`'s collector from option values as given (left out = declared default); an
// invalid value is the error, in the flags' format. For tests and doctor; the exporter checks
// its flags first (exporter/flags.cc).
MadeCollector MakeCollector(const CollectorEntry& entry, const Env& env,
                            const OptionValues& given = {});

}  // namespace nfct
