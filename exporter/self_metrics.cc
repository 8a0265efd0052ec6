#include "exporter/self_metrics.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <string>

#include "collectors/env.h"
#include "collectors/text.h"
#include "exporter/version.h"

namespace nfct {
namespace {

using prometheus::MetricType;

const FamilyDesc kBuildInfo{"nf_conntrack_exporter_build_info",
                            MetricType::Gauge,
                            "A metric with a constant value 1, labeled by the version, revision "
                            "and compiler nf_conntrack_exporter was built from.",
                            {"version", "revision", "compiler"}};
const FamilyDesc kCpu{"process_cpu_seconds_total",
                      MetricType::Counter,
                      "Total user and system CPU time spent in seconds.",
                      {}};
const FamilyDesc kVirtual{
    "process_virtual_memory_bytes", MetricType::Gauge, "Virtual memory size in bytes.", {}};
const FamilyDesc kResident{
    "process_resident_memory_bytes", MetricType::Gauge, "Resident memory size in bytes.", {}};
const FamilyDesc kStart{"process_start_time_seconds",
                        MetricType::Gauge,
                        "Start time of the process since unix epoch in seconds.",
                        {}};
const FamilyDesc kOpenFds{
    "process_open_fds", MetricType::Gauge, "Number of open file descriptors.", {}};
const FamilyDesc kMaxFds{
    "process_max_fds", MetricType::Gauge, "Maximum number of open file descriptors.", {}};

// btime from /proc/stat: boot time in seconds since the epoch.
double BootTimeSeconds() {
  FileRead stat = ReadFile("/proc/stat");
  if (!stat.ok()) return 0;
  size_t pos = stat.data.find("\nbtime ");
  if (pos == std::string::npos) return 0;
  double btime = 0;
  const char* begin = stat.data.data() + pos + 7;
  std::from_chars(begin, stat.data.data() + stat.data.size(), btime);
  return btime;
}

}  // namespace

const std::vector<FamilyDesc>& SelfMetricFamilies() {
  static const std::vector<FamilyDesc> kFamilies = {kBuildInfo, kCpu,     kVirtual, kResident,
                                                    kStart,     kOpenFds, kMaxFds};
  return kFamilies;
}

bool ParseProcessStat(std::string_view text, long ticks_per_second, long page_size,
                      ProcessStat& out) {
  size_t paren = text.rfind(')');
  if (paren == std::string_view::npos || ticks_per_second <= 0) return false;
  // Fields after the command name start at field 3 (state). Walked, not collected: this runs on
  // every scrape. utime=14 stime=15 starttime=22 vsize=23 rss=24 (1-based, man 5 proc).
  std::string_view rest = text.substr(paren + 1);
  std::string_view fields[25];
  for (size_t field = 3; field < 25; ++field) {
    fields[field] = TakeField(rest);
    if (fields[field].empty()) return false;
  }
  auto number = [&](int field, double& value) {
    std::optional<unsigned long long> parsed = ParseInteger<unsigned long long>(fields[field]);
    value = static_cast<double>(parsed.value_or(0));
    return parsed.has_value();
  };
  double utime, stime, start, vsize, rss;
  if (!number(14, utime) || !number(15, stime) || !number(22, start) || !number(23, vsize) ||
      !number(24, rss)) {
    return false;
  }
  out.cpu_seconds = (utime + stime) / static_cast<double>(ticks_per_second);
  out.start_ticks = start;
  out.virtual_bytes = vsize;
  out.resident_bytes = rss * static_cast<double>(page_size);
  return true;
}

SelfMetrics::~SelfMetrics() {
  if (fd_directory_ >= 0) close(fd_directory_);
}

double SelfMetrics::OpenDescriptors() {
  if (fd_directory_ < 0) {
    fd_directory_ = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_directory_ < 0) return -1;
  }
  struct stat info {};
  if (fstat(fd_directory_, &info) == 0 && info.st_size > 0)
    return static_cast<double>(info.st_size);
  // Before Linux 6.2 the size is 0: count the entries (this descriptor included, as the size
  // does).
  if (lseek(fd_directory_, 0, SEEK_SET) != 0) return -1;
  alignas(8) char buffer[4096];
  double count = 0;
  while (true) {
    ssize_t n = getdents64(fd_directory_, buffer, sizeof buffer);
    if (n < 0) return -1;
    if (n == 0) return count;
    for (ssize_t offset = 0; offset < n;) {
      auto* entry = reinterpret_cast<const dirent64*>(buffer + offset);
      if (entry->d_name[0] != '.') ++count;
      offset += entry->d_reclen;
    }
  }
}

void SelfMetrics::Collect(MetricSink& sink) {
  sink.Add(kBuildInfo, {kVersion, kRevision, kCompiler}, 1);
  static const long kTicks = sysconf(_SC_CLK_TCK);
  static const long kPageSize = sysconf(_SC_PAGESIZE);
  std::lock_guard lock(mutex_);
  ProcessStat stat;
  if (stat_.Read(text_, 4096) == 0 && ParseProcessStat(text_, kTicks, kPageSize, stat)) {
    sink.Add(kCpu, {}, stat.cpu_seconds);
    sink.Add(kVirtual, {}, stat.virtual_bytes);
    sink.Add(kResident, {}, stat.resident_bytes);
    if (start_time_seconds_ < 0) {
      double boot = BootTimeSeconds();
      if (boot > 0) start_time_seconds_ = boot + stat.start_ticks / static_cast<double>(kTicks);
    }
    if (start_time_seconds_ >= 0) sink.Add(kStart, {}, start_time_seconds_);
  }
  if (double open_fds = OpenDescriptors(); open_fds >= 0) sink.Add(kOpenFds, {}, open_fds);
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0)
    sink.Add(kMaxFds, {}, static_cast<double>(limit.rlim_cur));
}

}  // namespace nfct
