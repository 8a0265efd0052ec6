// The exporter's own metrics: nf_conntrack_exporter_build_info and the standard process_*
// metrics (CPU, memory, file descriptors, start time) read from /proc/self. Always the real
// /proc: they describe this process, not the monitored host. CollectorSet owns one SelfMetrics;
// Collect is thread safe (a mutex guards the kept-open files).
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/collector.h"
#include "collectors/kept_file.h"

namespace nfct {

const std::vector<FamilyDesc>& SelfMetricFamilies();

// Per scrape: one pread of /proc/self/stat, one fstat of /proc/self/fd (its size is the number of
// open descriptors since Linux 6.2; older kernels list it) and getrlimit. The start time never
// changes and is computed once.
class SelfMetrics {
 public:
  SelfMetrics() = default;
  ~SelfMetrics();
  SelfMetrics(const SelfMetrics&) = delete;
  SelfMetrics& operator=(const SelfMetrics&) = delete;

  void Collect(MetricSink& sink);

 private:
  double OpenDescriptors();  // -1 when unknown

  std::mutex mutex_;
  KeptFile stat_{"/proc/self/stat"};
  std::string text_;
  int fd_directory_ = -1;
  double start_time_seconds_ = -1;  // -1 until /proc/stat was read once
};

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
