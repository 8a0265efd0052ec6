#include "collectors/table/table_collector.h"

#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <variant>

#include "collectors/duration.h"
#include "collectors/log.h"
#include "collectors/stat/stat_parser.h"
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
                          "Times a table dump was due by --collector.table.interval but none "
                          "started because the CPU budget asked for a longer pause.",
                          {}};
const FamilyDesc kCpu{"nf_conntrack_table_dump_cpu_seconds_total",
                      MetricType::Counter,
                      "Kernel and user CPU time the table dumps took on the worker thread.",
                      {}};
const FamilyDesc kDumps{"nf_conntrack_table_dumps_total",
                        MetricType::Counter,
                        "Table dumps started, by what started them: the schedule, the table "
                        "passing 80 % of its limit (near_full), or new drops (dropping).",
                        {"trigger"}};
const FamilyDesc kInterval{"nf_conntrack_table_dump_interval_seconds",
                           MetricType::Gauge,
                           "Time from the start of the last table dump to the next scheduled "
                           "one: --collector.table.interval, or longer when the last dump's CPU "
                           "time over the CPU budget asks for it.",
                           {}};
const FamilyDesc kBudget{"nf_conntrack_table_dump_cpu_budget_ratio",
                         MetricType::Gauge,
                         "Share of one CPU the table dumps may use on average "
                         "(--collector.table.cpu-budget).",
                         {}};

constexpr std::string_view kCountPath = "sys/net/netfilter/nf_conntrack_count";
constexpr std::string_view kMaxPath = "sys/net/netfilter/nf_conntrack_max";
constexpr std::string_view kStatPath = "net/stat/nf_conntrack";
constexpr uint64_t kMaxTopPorts = 1000;
constexpr uint64_t kMaxEntriesLimit = 1000000000;
// How often the worker reads the load between dumps: a trouble dump starts within this.
constexpr std::chrono::milliseconds kTick{1000};

double Seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

const std::vector<CollectorOption>& TableCollectorOptions() {
  static const std::vector<CollectorOption> kOptions = {
      {"interval", "30s", "The shortest time between two scheduled table dumps.",
       OptionType::kDuration},
      {"max-entries", "0",
       "Deprecated and ignored: the dump's cost is bounded by the CPU budget instead.",
       OptionType::kCount, kMaxEntriesLimit},
      {"top-ports", "10", "How many destination ports per protocol get their own series.",
       OptionType::kCount, kMaxTopPorts},
      {"cpu-budget", "0.05",
       "Share of one CPU the table dumps may use on average (0.05 = 5 %): a dump that cost C "
       "CPU seconds is followed by a pause of at least C / budget.",
       OptionType::kRatio}};
  return kOptions;
}

TableOptions TableOptionsFrom(const CollectorOptions& values) {
  TableOptions options;
  options.interval = values.Duration("interval");
  options.cpu_budget = values.Ratio("cpu-budget");
  options.top_ports = values.Count("top-ports");
  return options;
}

MadeCollector MakeTableCollector(const Env& env, const CollectorOptions& values) {
  if (values.Count("max-entries") != 0) {
    Log(LogLevel::kWarn,
        "--collector.table.max-entries is deprecated and ignored: the table is dumped at any "
        "size, as often as --collector.table.cpu-budget allows",
        {{"collector", "table"}});
  }
  return {
      std::make_unique<TableCollector>(env, TableOptionsFrom(values), MakeNetlinkTableSource(env)),
      ""};
}

double ThreadCpuSeconds() {
  rusage usage{};
  if (getrusage(RUSAGE_THREAD, &usage) != 0) return 0;
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

TableCollector::TableCollector(Env env, TableOptions options, std::unique_ptr<TableSource> source,
                               std::function<double()> thread_cpu)
    : env_(std::move(env)),
      options_(options),
      source_(std::move(source)),
      thread_cpu_(std::move(thread_cpu)),
      schedule_(options.interval, options.cpu_budget),
      count_file_(env_.Proc(kCountPath)),
      max_file_(env_.Proc(kMaxPath)),
      stat_file_(env_.Proc(kStatPath)),
      interval_seconds_(std::chrono::duration<double>(options.interval).count()) {}

TableCollector::~TableCollector() { Stop(); }

const std::vector<FamilyDesc>& TableCollector::Families() const {
  static const std::vector<FamilyDesc> kFamilies = {kEntries,     kByPort,  kDuration, kTimestamp,
                                                    kDumpEntries, kSkipped, kCpu,      kDumps,
                                                    kInterval,    kBudget};
  return kFamilies;
}

void TableCollector::Start() {
  stop_.store(false);
  worker_.Start(std::min(kTick, options_.interval), [this] { Tick(); });
}

void TableCollector::Stop() {
  stop_.store(true);  // interrupts a dump in progress
  worker_.Stop();
}

// Three small reads a tick (about 20 µs): what lets a full table be dumped within a second of
// its first drop instead of at the next scheduled dump.
TableLoad TableCollector::ReadLoad() {
  TableLoad load;
  load.count = ReadSysctlNumber(count_file_, scratch_).value;
  load.max = ReadSysctlNumber(max_file_, scratch_).value;
  if (stat_file_.Read(scratch_) == 0) {
    auto parsed = ParseStatTable(scratch_);
    if (const auto* table = std::get_if<StatTable>(&parsed)) {
      auto column = std::find(table->columns.begin(), table->columns.end(), "drop");
      if (column != table->columns.end()) {
        size_t index = static_cast<size_t>(column - table->columns.begin());
        uint64_t drops = 0;
        for (const auto& row : table->rows) drops += index < row.size() ? row[index] : 0;
        load.drops = drops;
      }
    }
  }
  return load;
}

void TableCollector::Tick() {
  DumpTrigger trigger = schedule_.Poll(env_.clock.steady(), ReadLoad());
  if (trigger != DumpTrigger::kNone) Dump(trigger);
}

TableCollector::Snapshot TableCollector::TakeSnapshot(uint64_t entries) {
  Snapshot snapshot;
  for (size_t f = 0; f < kTableFamilies; ++f)
    for (size_t p = 0; p < kTableProtocols; ++p)
      for (size_t s = 0; s < kTableStates; ++s)
        snapshot.entries[(f * kTableProtocols + p) * kTableStates + s] = counts_.Entries(f, p, s);
  for (size_t slot = 0; slot < kPortProtocols; ++slot) {
    snapshot.ports[slot] = counts_.Top(slot, options_.top_ports);
  }
  counts_.Release();
  snapshot.dump_entries = entries;
  return snapshot;
}

// Not when nf_conntrack is not loaded (the request would load it). The CPU is measured around
// the whole attempt, decoding and ranking included, on the thread that makes it.
void TableCollector::Dump(DumpTrigger trigger) {
  auto begin = env_.clock.steady();
  double cpu_begin = thread_cpu_();
  Status status = ConntrackLoaded(env_);
  std::optional<Snapshot> snapshot;
  bool cancelled = false;
  if (status.ok()) {
    DumpOutcome outcome = source_->Dump(counts_, stop_);
    cancelled = outcome.cancelled;
    if (outcome.cancelled || !outcome.status.ok()) {
      counts_.Release();
      status = std::move(outcome.status);
    } else {
      snapshot = TakeSnapshot(outcome.entries);
    }
  }
  auto end = env_.clock.steady();
  double cpu = std::max(0.0, thread_cpu_() - cpu_begin);
  schedule_.Done(begin, end, cpu);
  if (snapshot) {
    snapshot->duration_seconds = std::chrono::duration<double>(end - begin).count();
    snapshot->timestamp_seconds = Seconds(env_.clock.wall());
  }
  {
    std::lock_guard lock(mutex_);
    cpu_seconds_total_ += cpu;
    ++dumps_total_[static_cast<size_t>(trigger) - 1];
    interval_seconds_ = schedule_.Interval().count();
    deferred_total_ = schedule_.deferred_slots();
  }
  if (trigger != DumpTrigger::kSchedule) {
    Log(LogLevel::kInfo, "table dump started early: the table crossed into trouble",
        {{"collector", "table"}, {"trigger", std::string(DumpTriggerLabel(trigger))}});
  }
  if (!cancelled) Publish(std::move(status), std::move(snapshot));
}

void TableCollector::Publish(Status status, std::optional<Snapshot> snapshot) {
  std::lock_guard lock(mutex_);
  status_ = std::move(status);
  fresh_ = snapshot.has_value();
  if (snapshot) snapshot_ = std::move(snapshot);
}

Status TableCollector::Collect(MetricSink& sink) {
  std::lock_guard lock(mutex_);
  sink.Add(kSkipped, {}, static_cast<double>(deferred_total_));
  sink.Add(kCpu, {}, cpu_seconds_total_);
  for (size_t t = 0; t < kDumpTriggers; ++t) {
    sink.Add(kDumps, {DumpTriggerLabel(static_cast<DumpTrigger>(t + 1))},
             static_cast<double>(dumps_total_[t]));
  }
  sink.Add(kInterval, {}, interval_seconds_);
  sink.Add(kBudget, {}, options_.cpu_budget > 0 ? options_.cpu_budget : 1.0);
  if (!snapshot_) return status_;
  // A breakdown older than the last attempt (failed) is not served as current; the timestamp of
  // the last complete dump still is.
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
