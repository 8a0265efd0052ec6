// The HTML page at /: version, links to the metrics, health and readiness paths, and a table of
// every collector with its last status. HttpServer's answer to "/" calls RenderLandingPage on an
// event-loop thread. Thread safe (pure: everything comes in as arguments).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "exporter/collector_set.h"

namespace nfct {

// One row of the landing page's collector table.
struct CollectorListing {
  std::string name;
  bool enabled;
  std::string help;
};

// The whole page; `states` are the collectors' last scrape results (CollectorSet::States()).
std::string RenderLandingPage(std::string_view telemetry_path,
                              const std::vector<CollectorListing>& listing,
                              const std::vector<CollectorState>& states);

}  // namespace nfct
