#include "collectors/table/table_collector.h"

#include "collectors/duration.h"
#include "collectors/log.h"
#include "collectors/text.h"

namespace nfct {
namespace {

using prometheus::MetricType;

const FamilyDesc kEntries{
    "nf_conntrack_table_entries",
    MetricType::Gauge,
    "Conntrack entries in the last table dump by address family, protocol and state (the TCP "
    "state, or assured, replied or unreplied for other protocols).",
    {"family", "protocol", "state"}};
const FamilyDesc kByPort{
    "nf_conntrack_table_entries_by_port",
    MetricType::Gauge,
    "Conntrack entries in the last table dump by original destination port, for the ports with "
    "most entries of each protocol; the rest are summed as port=\"other\".",
    {"protocol", "port"}};
const FamilyDesc kDuration{"nf_conntrack_table_dump_duration_seconds",
                           MetricType::Gauge,
                           "Time the last complete table dump took.",
                           {}};
const FamilyDesc kTimestamp{"nf_conntrack_table_dump_timestamp_seconds",
                            MetricType::Gauge,
                            "Unix time at which the last complete table dump finished.",
                            {}};
const FamilyDesc kDumpEntries{"nf_conntrack_table_dump_entries",
                              MetricType::Gauge,
                              "Entries seen in the last complete table dump.",
                              {}};
const FamilyDesc kSkipped{"nf_conntrack_table_dump_skipped_total",
                          MetricType::Counter,
                          "Table dumps skipped because nf_conntrack_count was above "
                          "--collector.table.max-entries.",
                          {}};

constexpr std::string_view kCountPath = "sys/net/netfilter/nf_conntrack_count";
constexpr uint64_t kMaxTopPorts = 1000;
constexpr uint64_t kMaxEntriesLimit = 1000000000;

double Seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

const std::vector<CollectorOption>& TableCollectorOptions() {
  static const std::vector<CollectorOption> kOptions = {
      {"interval", "30s", "How often the background worker dumps the table.",
       OptionType::kDuration},
      {"max-entries", "500000",
       "Skip the dump while nf_conntrack_count is above this (0 = no limit).", OptionType::kCount,
       kMaxEntriesLimit},
      {"top-ports", "10", "How many destination ports per protocol get their own series.",
       OptionType::kCount, kMaxTopPorts}};
  return kOptions;
}

TableOptions TableOptionsFrom(const CollectorOptions& values) {
  return {values.Duration("interval"), values.Count("max-entries"), values.Count("top-ports")};
}

MadeCollector MakeTableCollector(const Env& env, const CollectorOptions& values) {
  return {
      std::make_unique<TableCollector>(env, TableOptionsFrom(values), MakeNetlinkTableSource(env)),
      ""};
}

TableCollector::TableCollector(Env env, TableOptions options, std::unique_ptr<TableSource> source)
    : env_(std::move(env)), options_(options), source_(std::move(source)) {}

TableCollector::~TableCollector() { Stop(); }

const std::vector<FamilyDesc>& TableCollector::Families() const {
  static const std::vector<FamilyDesc> kFamilies = {kEntries,   kByPort,      kDuration,
                                                    kTimestamp, kDumpEntries, kSkipped};
  return kFamilies;
}

void TableCollector::Start() {
  stop_.store(false);
  worker_.Start(options_.interval, [this] { RunOnce(); });
}

void TableCollector::Stop() {
  stop_.store(true);  // interrupts a dump in progress
  worker_.Stop();
}

// Whether to dump now: not when nf_conntrack is not loaded (the request would load it), not
// when the table is above max-entries.
TableCollector::Precheck TableCollector::CheckBeforeDump() const {
  if (Status loaded = ConntrackLoaded(env_); !loaded.ok()) return {loaded, false};
  if (options_.max_entries == 0) return {Status::Ok(), false};
  SysctlRead count = ReadSysctlNumber(env_.Proc(kCountPath));
  if (!count.value) return {count.status, false};
  return {Status::Ok(), *count.value > options_.max_entries};
}

void TableCollector::RunOnce() {
  Precheck precheck = CheckBeforeDump();
  if (!precheck.status.ok() || precheck.skip) {
    Publish(std::move(precheck.status), std::nullopt, precheck.skip);
    return;
  }
  auto begin = env_.clock.steady();
  DumpOutcome outcome = source_->Dump(counts_, stop_);
  if (outcome.cancelled || !outcome.status.ok()) {
    counts_.Release();
    if (!outcome.cancelled) Publish(std::move(outcome.status), std::nullopt, false);
    return;
  }
  Snapshot snapshot;
  for (size_t f = 0; f < kTableFamilies; ++f)
    for (size_t p = 0; p < kTableProtocols; ++p)
      for (size_t s = 0; s < kTableStates; ++s)
        snapshot.entries[(f * kTableProtocols + p) * kTableStates + s] = counts_.Entries(f, p, s);
  for (size_t slot = 0; slot < kPortProtocols; ++slot) {
    snapshot.ports[slot] = counts_.Top(slot, options_.top_ports);
  }
  counts_.Release();
  snapshot.dump_entries = outcome.entries;
  snapshot.duration_seconds = std::chrono::duration<double>(env_.clock.steady() - begin).count();
  snapshot.timestamp_seconds = Seconds(env_.clock.wall());
  Publish(Status::Ok(), std::move(snapshot), false);
}

void TableCollector::Publish(Status status, std::optional<Snapshot> snapshot, bool skipped) {
  std::lock_guard lock(mutex_);
  if (skipped != skipping_) {
    // One line per change, not one per interval.
    Log(LogLevel::kInfo,
        skipped ? "table dumps skipped: table above max-entries" : "table dumps resumed",
        {{"collector", "table"}, {"max_entries", std::to_string(options_.max_entries)}});
    skipping_ = skipped;
  }
  if (skipped) ++skipped_total_;
  status_ = std::move(status);
  fresh_ = snapshot.has_value();
  if (snapshot) snapshot_ = std::move(snapshot);
}

Status TableCollector::Collect(MetricSink& sink) {
  std::lock_guard lock(mutex_);
  sink.Add(kSkipped, {}, static_cast<double>(skipped_total_));
  if (!snapshot_) return status_;
  // A breakdown older than the last attempt (skipped or failed) is not served as current; the
  // timestamp of the last complete dump still is.
  if (fresh_) {
    for (size_t f = 0; f < kTableFamilies; ++f) {
      for (size_t p = 0; p < kTableProtocols; ++p) {
        for (size_t s = 0; s < StateCount(p); ++s) {
          double value =
              static_cast<double>(snapshot_->entries[(f * kTableProtocols + p) * kTableStates + s]);
          sink.Add(kEntries, {FamilyLabel(f), ProtocolLabel(p), StateLabel(p, s)}, value);
        }
      }
    }
    for (size_t slot = 0; slot < kPortProtocols; ++slot) {
      std::string_view protocol = ProtocolLabel(PortSlotProtocol(slot));
      for (const auto& [port, count] : snapshot_->ports[slot].top) {
        sink.Add(kByPort, {protocol, std::to_string(port)}, static_cast<double>(count));
      }
      sink.Add(kByPort, {protocol, "other"}, static_cast<double>(snapshot_->ports[slot].other));
    }
  }
  sink.Add(kDuration, {}, snapshot_->duration_seconds);
  sink.Add(kTimestamp, {}, snapshot_->timestamp_seconds);
  sink.Add(kDumpEntries, {}, static_cast<double>(snapshot_->dump_entries));
  return status_;
}

}  // namespace nfct
