// The exporter's own metrics: nf_conntrack_exporter_build_info and the standard process_*
// metrics (CPU, memory, file descriptors, start time) read from /proc/self. Always the real
// /proc: they describe this process, not the monitored host. Thread safe (no state).
#pragma once

#include <string_view>
#include <vector>

#include "collectors/collector.h"

namespace nfct {

const std::vector<FamilyDesc>& SelfMetricFamilies();
void CollectSelfMetrics(MetricSink& sink);

struct ProcessStat {
  double cpu_seconds = 0;
  double virtual_bytes = 0;
  double resident_bytes = 0;
  double start_ticks = 0;  // clock ticks since boot
};
// Parses /proc/self/stat ("1234 (name with spaces) S 1 ..."); false when malformed.
bool ParseProcessStat(std::string_view text, long ticks_per_second, long page_size,
                      ProcessStat& out);

}  // namespace nfct
