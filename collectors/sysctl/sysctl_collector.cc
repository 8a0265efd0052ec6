#include "collectors/sysctl/sysctl_collector.h"

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "collectors/kept_file.h"
#include "collectors/sysctl/sysctl_parser.h"

namespace nfct {

const FamilyDesc kSysctlEntries{
    "nf_conntrack_entries",
    prometheus::MetricType::Gauge,
    "Number of entries in the conntrack table of the exporter's network "
    "namespace (nf_conntrack_count).",
    {}};
const FamilyDesc kSysctlLimit{"nf_conntrack_entries_limit",
                              prometheus::MetricType::Gauge,
                              "Maximum number of conntrack entries per network namespace "
                              "(nf_conntrack_max); 0 means unlimited.",
                              {}};
const FamilyDesc kSysctlBuckets{
    "nf_conntrack_buckets",
    prometheus::MetricType::Gauge,
    "Size of the conntrack hash table in buckets (nf_conntrack_buckets).",
    {}};
const FamilyDesc kSysctlTimeout{"nf_conntrack_timeout_seconds",
                                prometheus::MetricType::Gauge,
                                "Conntrack timeout of a protocol state in the exporter's network "
                                "namespace (nf_conntrack_<protocol>_timeout_<state>).",
                                {"protocol", "state"}};

namespace {

using prometheus::MetricType;

constexpr std::string_view kNetfilterDir = "sys/net/netfilter";
struct Timeout {
  TimeoutName name;
  KeptFile file;
};

// Keeps the first non-Ok status: the one log line names the first thing that
// went wrong.
void Merge(Status &into, const Status &next) {
  if (into.ok() && !next.ok()) into = next;
}

}  // namespace

struct SysctlCollector::Files {
  KeptFile count;
  KeptFile max;
  KeptFile buckets;
  KeptFile hashsize;
  std::vector<Timeout> timeouts;  // sorted by protocol and state
  bool walked = false;            // timeouts found; walked again after any failed read
  std::string scratch;            // the text of the file being read
};

SysctlCollector::SysctlCollector(Env env)
    : env_(std::move(env)),
      files_(new Files{KeptFile(env_.Proc(kNetfilterDir) / "nf_conntrack_count"),
                       KeptFile(env_.Proc(kNetfilterDir) / "nf_conntrack_max"),
                       KeptFile(env_.Proc(kNetfilterDir) / "nf_conntrack_buckets"),
                       KeptFile(env_.Sys("module/nf_conntrack/parameters/hashsize")),
                       {},
                       false,
                       {}}) {}

SysctlCollector::~SysctlCollector() = default;

const std::vector<FamilyDesc> &SysctlCollector::Families() const {
  static const std::vector<FamilyDesc> kFamilies = {kSysctlEntries, kSysctlLimit, kSysctlBuckets,
                                                    kSysctlTimeout};
  return kFamilies;
}

Status SysctlCollector::Collect(MetricSink &sink) {
  std::lock_guard lock(mutex_);
  SysctlRead count = ReadSysctlNumber(files_->count, files_->scratch);
  // Without the count file the module is absent: nothing else here can be
  // meaningful.
  if (!count.value) {
    files_->timeouts.clear();
    files_->walked = false;
    return count.status;
  }
  sink.Add(kSysctlEntries, {}, static_cast<double>(*count.value));

  Status status = Status::Ok();
  SysctlRead max = ReadSysctlNumber(files_->max, files_->scratch);
  if (max.value) sink.Add(kSysctlLimit, {}, static_cast<double>(*max.value));
  Merge(status, max.status);

  SysctlRead buckets = ReadSysctlNumber(files_->buckets, files_->scratch);
  if (!buckets.value) {
    // Kernels before the buckets sysctl expose only the module parameter (mode
    // 0600).
    SysctlRead hashsize = ReadSysctlNumber(files_->hashsize, files_->scratch);
    if (hashsize.value) buckets = hashsize;
  }
  if (buckets.value) sink.Add(kSysctlBuckets, {}, static_cast<double>(*buckets.value));
  Merge(status, buckets.status);

  Merge(status, CollectTimeouts(sink));
  return status;
}

Status SysctlCollector::CollectTimeouts(MetricSink &sink) {
  auto &timeouts = files_->timeouts;
  if (!files_->walked) {
    const auto dir = env_.Proc(kNetfilterDir);
    timeouts.clear();
    std::error_code ec;
    for (const auto &item : std::filesystem::directory_iterator(dir, ec)) {
      auto name = ParseTimeoutName(item.path().filename().string());
      if (name) timeouts.push_back({std::move(*name), KeptFile(item.path())});
    }
    if (ec) {
      timeouts.clear();
      return StatusFromErrno(ec.value(), dir, kConntrackNotLoaded, "root");
    }
    std::sort(timeouts.begin(), timeouts.end(), [](const auto &a, const auto &b) {
      return std::tie(a.name.protocol, a.name.state) < std::tie(b.name.protocol, b.name.state);
    });
    files_->walked = true;
  }
  Status status = Status::Ok();
  for (auto &timeout : timeouts) {
    SysctlRead value = ReadSysctlNumber(timeout.file, files_->scratch);
    Merge(status, value.status);
    if (value.value) {
      sink.Add(kSysctlTimeout, {timeout.name.protocol, timeout.name.state},
               static_cast<double>(*value.value));
    }
  }
  // A file that vanished (a protocol module unloaded): walk and read again next time.
  if (!status.ok()) files_->walked = false;
  return status;
}

MadeCollector MakeSysctlCollector(const Env &env, const CollectorOptions &) {
  return {std::make_unique<SysctlCollector>(env), ""};
}

}  // namespace nfct
