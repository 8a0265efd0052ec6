#include "collectors/sysctl/sysctl_collector.h"

#include <algorithm>
#include <system_error>

#include "collectors/sysctl/sysctl_parser.h"

namespace nfct {
namespace {

using prometheus::MetricType;

const FamilyDesc kEntries{"nf_conntrack_entries",
                          MetricType::Gauge,
                          "Number of entries in the conntrack table of the exporter's network "
                          "namespace (nf_conntrack_count).",
                          {}};
const FamilyDesc kLimit{"nf_conntrack_entries_limit",
                        MetricType::Gauge,
                        "Maximum number of conntrack entries per network namespace "
                        "(nf_conntrack_max); 0 means unlimited.",
                        {}};
const FamilyDesc kBuckets{"nf_conntrack_buckets",
                          MetricType::Gauge,
                          "Size of the conntrack hash table in buckets (nf_conntrack_buckets).",
                          {}};
const FamilyDesc kTimeout{"nf_conntrack_timeout_seconds",
                          MetricType::Gauge,
                          "Conntrack timeout of a protocol state in the exporter's network "
                          "namespace (nf_conntrack_<protocol>_timeout_<state>).",
                          {"protocol", "state"}};

constexpr std::string_view kNetfilterDir = "sys/net/netfilter";
constexpr std::string_view kNotLoaded = "nf_conntrack is not loaded";

struct NumberRead {
  std::optional<uint64_t> value;
  Status status = Status::Ok();
};

NumberRead ReadNumber(const std::filesystem::path& path) {
  FileRead file = ReadFile(path, 4096);
  if (!file.ok()) return {std::nullopt, StatusFromErrno(file.error, path, kNotLoaded, "root")};
  auto value = ParseSysctlNumber(file.data);
  if (!value) return {std::nullopt, Status::Error("malformed number in " + path.string())};
  return {value, Status::Ok()};
}

// Keeps the first non-Ok status: the one log line names the first thing that went wrong.
void Merge(Status& into, const Status& next) {
  if (into.ok() && !next.ok()) into = next;
}

}  // namespace

const std::vector<FamilyDesc>& SysctlCollector::Families() const {
  static const std::vector<FamilyDesc> kFamilies = {kEntries, kLimit, kBuckets, kTimeout};
  return kFamilies;
}

std::vector<std::string> SysctlCollector::Sources() const {
  return {env_.Proc(kNetfilterDir).string() + "/nf_conntrack_{count,max,buckets,*timeout*}",
          env_.Sys("module/nf_conntrack/parameters/hashsize").string()};
}

Status SysctlCollector::Collect(MetricSink& sink) {
  const auto dir = env_.Proc(kNetfilterDir);
  NumberRead count = ReadNumber(dir / "nf_conntrack_count");
  // Without the count file the module is absent: nothing else here can be meaningful.
  if (!count.value) return count.status;
  sink.Add(kEntries, {}, static_cast<double>(*count.value));

  Status status = Status::Ok();
  NumberRead max = ReadNumber(dir / "nf_conntrack_max");
  if (max.value) sink.Add(kLimit, {}, static_cast<double>(*max.value));
  Merge(status, max.status);

  NumberRead buckets = ReadNumber(dir / "nf_conntrack_buckets");
  if (!buckets.value) {
    // Kernels before the buckets sysctl expose only the module parameter (mode 0600).
    NumberRead hashsize = ReadNumber(env_.Sys("module/nf_conntrack/parameters/hashsize"));
    if (hashsize.value) buckets = hashsize;
  }
  if (buckets.value) sink.Add(kBuckets, {}, static_cast<double>(*buckets.value));
  Merge(status, buckets.status);

  Merge(status, CollectTimeouts(sink));
  return status;
}

Status SysctlCollector::CollectTimeouts(MetricSink& sink) const {
  const auto dir = env_.Proc(kNetfilterDir);
  std::vector<std::pair<TimeoutName, std::filesystem::path>> timeouts;
  std::error_code ec;
  for (const auto& item : std::filesystem::directory_iterator(dir, ec)) {
    auto name = ParseTimeoutName(item.path().filename().string());
    if (name) timeouts.emplace_back(std::move(*name), item.path());
  }
  if (ec) return StatusFromErrno(ec.value(), dir, kNotLoaded, "root");
  std::sort(timeouts.begin(), timeouts.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first.protocol, a.first.state) < std::tie(b.first.protocol, b.first.state);
  });
  Status status = Status::Ok();
  for (const auto& [name, path] : timeouts) {
    NumberRead value = ReadNumber(path);
    if (value.value)
      sink.Add(kTimeout, {name.protocol, name.state}, static_cast<double>(*value.value));
    Merge(status, value.status);
  }
  return status;
}

MadeCollector MakeSysctlCollector(const Env& env, const OptionValues&) {
  return {std::make_unique<SysctlCollector>(env), ""};
}

}  // namespace nfct
