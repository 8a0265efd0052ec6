#include "collectors/refused/refused_collector.h"

#include <algorithm>

#include "collectors/duration.h"
#include "collectors/log.h"
#include "collectors/text.h"

namespace nfct {

const FamilyDesc kRefusedPackets{
    "nf_conntrack_refused_packets_total",
    prometheus::MetricType::Counter,
    "Packets the conntrack table refused because it was full (no entry could be made), counted "
    "by a BPF program, by network namespace, protocol and original destination port (tcp, udp, "
    "sctp, dccp; port=\"\" for other protocols); a retransmitted SYN is refused and counted "
    "again. Keys beyond the top N and those the BPF map had no room for are summed as "
    "port=\"other\".",
    {"netns", "netns_name", "pod_uid", "container_id", "protocol", "port"}};
namespace {

using prometheus::MetricType;

const FamilyDesc kUnclassified{
    "nf_conntrack_refused_unclassified_packets_total",
    MetricType::Counter,
    "Conntrack drops of packets without an entry that the BPF program could not attribute: "
    "reason=\"no_history\" for the first one on a CPU in a namespace it had no counters for, "
    "reason=\"ambiguous\" when invalid or insert_failed moved at the same time.",
    {"reason"}};
const FamilyDesc kNetfilterDrops{
    "nf_conntrack_refused_examined_drops_total",
    MetricType::Counter,
    "Packets netfilter dropped (SKB_DROP_REASON_NETFILTER_DROP) that the BPF program examined, "
    "refused or not.",
    {}};
const FamilyDesc kInfo{"nf_conntrack_refused_info",
                       MetricType::Gauge,
                       "The BPF program of the refused collector is loaded; attach names the "
                       "kernel hook it runs on.",
                       {"attach"}};
const FamilyDesc kMapEntries{"nf_conntrack_refused_map_entries",
                             MetricType::Gauge,
                             "Distinct namespace, protocol and port keys in the BPF map.",
                             {}};
const FamilyDesc kMapMax{"nf_conntrack_refused_map_max_entries",
                         MetricType::Gauge,
                         "Capacity of the BPF map of keys; keys beyond it count as "
                         "port=\"other\" of their namespace.",
                         {}};
const FamilyDesc kAge{"nf_conntrack_refused_snapshot_age_seconds",
                      MetricType::Gauge,
                      "Seconds since the BPF maps were last read, at the time of this scrape.",
                      {}};

constexpr uint64_t kMaxTop = 100000;
constexpr uint32_t kMaxMapSize = 1 << 20;

// The drop, invalid and insert_failed columns of one namespace's per-CPU table.
std::optional<std::vector<CpuCounters>> Counters(const StatTable& table) {
  auto column = [&](std::string_view name) -> std::optional<size_t> {
    auto it = std::find(table.columns.begin(), table.columns.end(), name);
    if (it == table.columns.end()) return std::nullopt;
    return it - table.columns.begin();
  };
  auto drop = column("drop"), invalid = column("invalid"), failed = column("insert_failed");
  if (!drop || !invalid || !failed) return std::nullopt;
  std::vector<CpuCounters> out;
  for (const auto& row : table.rows) {
    if (row.size() <= std::max({*drop, *invalid, *failed})) return std::nullopt;
    out.push_back({row[*drop], row[*invalid], row[*failed]});
  }
  return out;
}

}  // namespace

const std::vector<CollectorOption>& RefusedCollectorOptions() {
  static const std::vector<CollectorOption> kOptions = {
      {"interval", "15s",
       "How often the BPF maps are read and the network namespaces walked for their labels.",
       OptionType::kDuration},
      {"top", "50",
       "How many namespace, protocol and port keys (most packets first) get series of their "
       "own; the rest are summed as port=\"other\" per namespace and protocol.",
       OptionType::kCount, kMaxTop},
      {"map-size", "4096",
       "Capacity of the BPF map of keys; refusals of keys beyond it are still counted, as "
       "port=\"other\" of their namespace.",
       OptionType::kCount, kMaxMapSize, 1}};
  return kOptions;
}

RefusedOptions RefusedOptionsFrom(const CollectorOptions& values) {
  RefusedOptions options;
  options.interval = values.Duration("interval");
  options.top = values.Count("top");
  options.map_size = static_cast<uint32_t>(values.Count("map-size"));
  return options;
}

MadeCollector MakeRefusedCollector(const Env& env, const CollectorOptions& values) {
  RefusedOptions parsed_options = RefusedOptionsFrom(values);
  std::filesystem::path sysfs = env.sysfs;
  uint32_t map_size = parsed_options.map_size;
  auto load = [sysfs, map_size](const std::vector<std::pair<uint32_t, std::string>>& seeds) {
    return RefusedProgram::Load(sysfs, map_size, seeds);
  };
  return MadeCollector{
      std::make_unique<RefusedCollector>(env, parsed_options, load, MakeSetnsEnterer(env.procfs)),
      ""};
}

RefusedCollector::RefusedCollector(Env env, RefusedOptions options, RefusedLoad load,
                                   std::unique_ptr<NetnsEnterer> enterer)
    : env_(std::move(env)),
      options_(options),
      load_(std::move(load)),
      enterer_(std::move(enterer)) {}

RefusedCollector::~RefusedCollector() { Stop(); }

const std::vector<FamilyDesc>& RefusedCollector::Families() const {
  static const std::vector<FamilyDesc> kFamilies = {
      kRefusedPackets, kUnclassified, kNetfilterDrops, kInfo, kMapEntries, kMapMax, kAge};
  return kFamilies;
}

std::vector<std::pair<uint32_t, std::string>> RefusedCollector::Walk(size_t cpus) {
  NetnsWalk walk = WalkNetns(env_, *enterer_);
  std::vector<std::pair<uint32_t, std::string>> seeds;
  if (!walk.status.ok()) return seeds;  // labels stay as they were; the counts do not need them
  labels_.clear();
  for (const auto& info : walk.namespaces) {
    auto inode = static_cast<uint32_t>(info.inode);
    labels_[inode] = {info.name, info.pod_uid, info.container_id};
    if (!info.read) continue;
    auto counters = Counters(info.stat);
    // One row per possible CPU, as the program's per-CPU map has (the loader checks it when
    // cpus is 0, before the map exists): anything else is not seeded.
    if (counters && (cpus == 0 || counters->size() == cpus)) {
      seeds.emplace_back(inode, EncodeHistory(*counters));
    }
  }
  return seeds;
}

Status RefusedCollector::Load() {
  // Walked before the load, without CAP_BPF: seeds for every namespace already there.
  auto seeds = Walk(0);
  auto loaded = load_(seeds);
  std::lock_guard lock(mutex_);
  status_ = loaded.status;
  if (loaded.source) {
    program_ = std::move(loaded.source);
    Log(LogLevel::kInfo, "BPF program loaded",
        {{"collector", "refused"},
         {"attach", RefusedProgram::kAttach},
         {"map_size", std::to_string(options_.map_size)},
         {"seeded_namespaces", std::to_string(seeds.size())}});
  }
  // A failure is not logged here: the collector set logs the Unavailable/Error status once,
  // at the first scrape, with the reason that names what is missing.
  return status_;
}

void RefusedCollector::Start() {
  if (!Load().ok()) return;
  worker_.Start(options_.interval, [this] { RunOnce(); });
}

void RefusedCollector::Stop() { worker_.Stop(); }

void RefusedCollector::RunOnce() {
  if (!program_) return;
  for (const auto& [netns, history] : Walk(program_->cpus())) program_->Seed(netns, history);
  auto read = program_->ReadMaps();
  Status status = Status::Ok();
  std::optional<Snapshot> snapshot;
  auto refused = DecodeRefused(read.bytes.refused_keys, read.bytes.refused_values);
  auto overflow = DecodeOverflow(read.bytes.overflow_keys, read.bytes.overflow_values);
  auto stats = DecodeStats(read.bytes.stats, read.bytes.cpus);
  if (!read.error.empty()) {
    status = Status::Error(read.error);
  } else if (!refused || !overflow || !stats) {
    status = Status::Error("BPF map contents of an unexpected size");
  } else {
    snapshot.emplace();
    snapshot->series = SummariseRefused(std::move(*refused), *overflow, stats->lost, options_.top);
    snapshot->stats = *stats;
    snapshot->map_entries = read.bytes.refused_entries;
    for (const auto& series : snapshot->series) {
      auto it = labels_.find(series.netns);
      if (it != labels_.end()) snapshot->labels.emplace(series.netns, it->second);
    }
    snapshot->finished = env_.clock.steady();
  }
  // Not logged here either: the collector set logs each change of status once.
  std::lock_guard lock(mutex_);
  status_ = std::move(status);
  if (snapshot) snapshot_ = std::move(snapshot);
}

Status RefusedCollector::Collect(MetricSink& sink) {
  std::lock_guard lock(mutex_);
  if (!program_) return status_;
  sink.Add(kInfo, {RefusedProgram::kAttach}, 1);
  sink.Add(kMapMax, {}, options_.map_size);
  if (!snapshot_) return status_;
  static const Labels kNone;
  for (const auto& series : snapshot_->series) {
    auto it = snapshot_->labels.find(series.netns);
    const Labels& labels = it == snapshot_->labels.end() ? kNone : it->second;
    std::string netns = series.netns == 0 ? "other" : std::to_string(series.netns);
    sink.Add(
        kRefusedPackets,
        {netns, labels.name, labels.pod_uid, labels.container_id, series.protocol, series.port},
        static_cast<double>(series.packets));
  }
  sink.Add(kUnclassified, {"no_history"}, static_cast<double>(snapshot_->stats.no_history));
  sink.Add(kUnclassified, {"ambiguous"}, static_cast<double>(snapshot_->stats.ambiguous));
  sink.Add(kNetfilterDrops, {}, static_cast<double>(snapshot_->stats.netfilter_drops));
  sink.Add(kMapEntries, {}, snapshot_->map_entries);
  sink.Add(kAge, {},
           std::chrono::duration<double>(env_.clock.steady() - snapshot_->finished).count());
  return status_;
}

}  // namespace nfct
