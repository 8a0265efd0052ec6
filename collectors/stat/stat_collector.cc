#include "collectors/stat/stat_collector.h"

#include <variant>

#include "collectors/stat/stat_counters.h"
#include "collectors/stat/stat_parser.h"

namespace nfct {
namespace {

using prometheus::MetricType;

constexpr std::string_view kStatPath = "net/stat/nf_conntrack";

}  // namespace

StatCollector::StatCollector(Env env, std::unique_ptr<CpuStatsSource> netlink)
    : env_(std::move(env)), netlink_(std::move(netlink)), file_(env_.Proc(kStatPath)) {}

const std::vector<FamilyDesc>& StatCollector::Families() const {
  static const std::vector<FamilyDesc> kFamilies = [] {
    std::vector<FamilyDesc> families;
    for (const auto& counter : StatCounters()) families.push_back(counter.family);
    return families;
  }();
  return kFamilies;
}

std::vector<Capability> StatCollector::Capabilities() const {
  if (std::filesystem::exists(env_.Proc(kStatPath))) return {};
  return {Capability::kNetAdmin};
}

StatRead StatCollector::ReadTable() {
  const auto& path = file_.path();
  int error = file_.Read(text_);
  if (error == 0) {
    auto parsed = ParseStatTable(text_);
    if (auto* error = std::get_if<StatParseError>(&parsed)) {
      return {{}, Status::Error("malformed " + path.string() + ": " + error->message)};
    }
    return {std::get<StatTable>(std::move(parsed)), Status::Ok()};
  }
  if (error != ENOENT) {
    return {{}, StatusFromErrno(error, path, kConntrackNotLoaded, "root")};
  }
  // No procfs stats: either the module is absent, or the kernel lacks CONFIG_NF_CONNTRACK_PROCFS.
  // A netlink request would autoload the module, so check that it is loaded first.
  if (Status loaded = ConntrackLoaded(env_); !loaded.ok()) return {{}, loaded};
  StatRead read = netlink_->Read();
  if (!read.status.ok()) {
    std::string why = path.string() + " does not exist; " + read.status.reason();
    read.status = read.status.code() == Status::Code::kUnavailable ? Status::Unavailable(why)
                                                                   : Status::Error(why);
  }
  return read;
}

Status StatCollector::Collect(MetricSink& sink) {
  // Read and fold under one lock: two scrapes folding readings out of order would look like a
  // 32-bit wrap and add nearly 2^32 to a counter.
  std::lock_guard lock(mutex_);
  StatRead read = ReadTable();
  if (!read.status.ok()) return read.status;
  const auto& totals = accumulator_.Update(read.table);
  for (const auto& counter : StatCounters()) {
    auto it = totals.find(counter.column);
    if (it != totals.end()) sink.Add(counter.family, {}, static_cast<double>(it->second));
  }
  return Status::Ok();
}

MadeCollector MakeStatCollector(const Env& env, const CollectorOptions&) {
  return {std::make_unique<StatCollector>(env, MakeNetlinkCpuStatsSource(env)), ""};
}

}  // namespace nfct
