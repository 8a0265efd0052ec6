#include "collectors/netns/netns_collector.h"

#include "collectors/duration.h"
#include "collectors/sysctl/sysctl_parser.h"

namespace nfct {
namespace {

using prometheus::MetricType;

const std::vector<std::string_view> kNetnsLabels = {"netns", "netns_name", "pod_uid",
                                                    "container_id"};

const FamilyDesc kEntries{
    "nf_conntrack_netns_entries", MetricType::Gauge,
    "Conntrack entries in each network namespace's own table (its nf_conntrack_count), checked "
    "against the global limit on its own; the namespaces beyond the top N are summed as "
    "netns=\"other\".",
    kNetnsLabels};
// In the order of NetnsCollector::Series::counters.
const std::array<std::string_view, 3> kCounterColumns = {"drop", "early_drop", "insert_failed"};
const std::array<FamilyDesc, 3> kCounterFamilies = {{
    {"nf_conntrack_netns_stat_drop_total", MetricType::Counter,
     "Packets a network namespace dropped because no conntrack entry could be made (its table "
     "full among others), summed over CPUs.",
     kNetnsLabels},
    {"nf_conntrack_netns_stat_early_drop_total", MetricType::Counter,
     "Entries a network namespace evicted to make room for new ones because its table was at "
     "the limit, summed over CPUs.",
     kNetnsLabels},
    {"nf_conntrack_netns_stat_insert_failed_total", MetricType::Counter,
     "Entries a network namespace could not insert because an equal entry was already present, "
     "summed over CPUs.",
     kNetnsLabels},
}};
const FamilyDesc kNamespaces{"nf_conntrack_netns_namespaces",
                             MetricType::Gauge,
                             "Network namespaces seen in the last walk, held by a process or "
                             "bind-mounted, read or not.",
                             {}};
const FamilyDesc kUnread{"nf_conntrack_netns_unread_namespaces",
                         MetricType::Gauge,
                         "Network namespaces seen in the last walk whose table could not be read "
                         "(entering a bind-mounted one needs CAP_SYS_ADMIN).",
                         {}};
const FamilyDesc kUnreadable{"nf_conntrack_netns_unreadable_processes",
                             MetricType::Gauge,
                             "Processes whose network namespace could not be identified in the "
                             "last walk (another user's /proc/<pid>/ns/net needs CAP_SYS_PTRACE).",
                             {}};
const FamilyDesc kHidden{
    "nf_conntrack_netns_processes_hidden",
    MetricType::Gauge,
    "Whether /proc hides other users' processes from the exporter (1: mounted with "
    "hidepid=invisible, as systemd's ProtectProc=invisible does, and CAP_SYS_PTRACE not "
    "permitted), so that the namespaces only they hold are neither counted nor read.",
    {}};
const FamilyDesc kDuration{"nf_conntrack_netns_walk_duration_seconds",
                           MetricType::Gauge,
                           "Time the last walk over every network namespace took.",
                           {}};
const FamilyDesc kTimestamp{"nf_conntrack_netns_walk_timestamp_seconds",
                            MetricType::Gauge,
                            "Unix time at which the last walk finished.",
                            {}};
const FamilyDesc kAge{"nf_conntrack_netns_snapshot_age_seconds",
                      MetricType::Gauge,
                      "Seconds since the last walk finished, at the time of this scrape: how old "
                      "the per-namespace series are.",
                      {}};

constexpr size_t kMaxTop = 100000;

double Seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

const std::vector<CollectorOption>& NetnsCollectorOptions() {
  static const std::vector<CollectorOption> kOptions = {
      {"interval", "30s", "How often the background worker walks every network namespace.",
       OptionType::kDuration},
      {"top", "50",
       "How many of the fullest namespaces get series of their own; the rest are summed as "
       "netns=\"other\".",
       OptionType::kCount, kMaxTop}};
  return kOptions;
}

NetnsOptions NetnsOptionsFrom(const CollectorOptions& values) {
  return {values.Duration("interval"), values.Count("top")};
}

MadeCollector MakeNetnsCollector(const Env& env, const CollectorOptions& values) {
  return MadeCollector{
      std::make_unique<NetnsCollector>(env, NetnsOptionsFrom(values), MakeSetnsEnterer(env.procfs)),
      ""};
}

NetnsCollector::NetnsCollector(Env env, NetnsOptions options, std::unique_ptr<NetnsEnterer> enterer)
    : env_(std::move(env)), options_(options), enterer_(std::move(enterer)) {}

NetnsCollector::~NetnsCollector() { Stop(); }

const std::vector<FamilyDesc>& NetnsCollector::Families() const {
  static const std::vector<FamilyDesc> kFamilies = {kEntries,
                                                    kCounterFamilies[0],
                                                    kCounterFamilies[1],
                                                    kCounterFamilies[2],
                                                    kNamespaces,
                                                    kUnread,
                                                    kUnreadable,
                                                    kHidden,
                                                    kDuration,
                                                    kTimestamp,
                                                    kAge};
  return kFamilies;
}

void NetnsCollector::Start() {
  worker_.Start(options_.interval, [this] { RunOnce(); });
}

void NetnsCollector::Stop() { worker_.Stop(); }

void NetnsCollector::RunOnce() {
  auto begin = env_.clock.steady();
  NetnsWalk walk = WalkNetns(env_, *enterer_);
  if (!walk.status.ok()) {
    Publish(std::move(walk.status), std::nullopt);
    return;
  }
  Snapshot snapshot = Summarise(walk);
  snapshot.duration_seconds = std::chrono::duration<double>(env_.clock.steady() - begin).count();
  snapshot.timestamp_seconds = Seconds(env_.clock.wall());
  snapshot.finished = env_.clock.steady();
  Status status = BlindSpots(walk);
  Publish(std::move(status), std::move(snapshot));
}

// Ok only when the whole host was seen and read. Otherwise Unavailable, with the series of what
// was read still served: a partial view must never pass for a whole one (success 1). The reason
// names each kind of blind spot but no count, so CollectorSet logs one line when the set of
// blind spots changes, not one per walk.
Status NetnsCollector::BlindSpots(const NetnsWalk& walk) {
  std::string reason;
  auto add = [&](const std::string& part) { reason += (reason.empty() ? "" : "; ") + part; };
  if (!walk.hidden_by.empty()) {
    add("other users' processes are hidden (" + walk.hidden_by +
        ", CAP_SYS_PTRACE not permitted): the namespaces only they hold are not seen");
  }
  for (const auto& info : walk.namespaces) {
    if (!info.read) {
      add("network namespaces seen but not read: " + info.unread_reason);
      break;
    }
  }
  if (walk.unreadable_processes > 0 && walk.ptrace_denied) {
    add("cannot tell the network namespace of some processes: reading another user's "
        "/proc/<pid>/ns/net needs CAP_SYS_PTRACE");
  }
  return reason.empty() ? Status::Ok() : Status::Unavailable(reason);
}

NetnsCollector::Snapshot NetnsCollector::Summarise(const NetnsWalk& walk) {
  Snapshot snapshot;
  snapshot.namespaces = walk.namespaces.size();
  snapshot.unread = walk.Unread();
  snapshot.unreadable_processes = walk.unreadable_processes;
  snapshot.hidden = !walk.hidden_by.empty();
  Series other{"other", "", "", "", 0, {}};
  std::map<uint64_t, Tracked> seen;
  size_t rank = 0;
  for (const auto& info : walk.namespaces) {
    if (!info.read) continue;
    auto node = tracked_.extract(info.inode);
    Tracked tracked = node.empty() ? Tracked{} : std::move(node.mapped());
    if (tracked.reader_pid != info.reader_pid || tracked.mount_id != info.mount_id) {
      tracked = Tracked{info.reader_pid, info.mount_id, {}, {}};
    }
    const auto& totals = tracked.accumulator.Update(info.stat);
    std::array<uint64_t, kCounters> values{};
    for (size_t c = 0; c < kCounters; ++c) {
      auto it = totals.find(std::string(kCounterColumns[c]));
      if (it != totals.end()) values[c] = it->second;
    }
    if (rank++ < options_.top) {
      snapshot.series.push_back({std::to_string(info.inode), info.name, info.pod_uid,
                                 info.container_id, static_cast<double>(info.entries), values});
    } else {
      // "other" only ever grows: it adds what each namespace counted while it was in "other"
      // (all of it for a namespace not seen before), so membership changes are no resets.
      other.entries += static_cast<double>(info.entries);
      for (size_t c = 0; c < kCounters; ++c) {
        other_[c] += values[c] >= tracked.last[c] ? values[c] - tracked.last[c] : values[c];
      }
    }
    tracked.last = values;
    seen.emplace(info.inode, std::move(tracked));
  }
  tracked_ = std::move(seen);  // namespaces not seen this walk are gone
  other.counters = other_;
  snapshot.series.push_back(std::move(other));
  return snapshot;
}

void NetnsCollector::Publish(Status status, std::optional<Snapshot> snapshot) {
  std::lock_guard lock(mutex_);
  status_ = std::move(status);
  snapshot_ = std::move(snapshot);
}

Status NetnsCollector::Collect(MetricSink& sink) {
  std::lock_guard lock(mutex_);
  if (!snapshot_) return status_;
  for (const auto& series : snapshot_->series) {
    // Views into the snapshot (held under the lock): no copy of the labels per scrape.
    auto add = [&](const FamilyDesc& desc, double value) {
      sink.Add(desc, {series.netns, series.name, series.pod_uid, series.container_id}, value);
    };
    add(kEntries, series.entries);
    for (size_t c = 0; c < kCounters; ++c) {
      add(kCounterFamilies[c], static_cast<double>(series.counters[c]));
    }
  }
  sink.Add(kNamespaces, {}, static_cast<double>(snapshot_->namespaces));
  sink.Add(kUnread, {}, static_cast<double>(snapshot_->unread));
  sink.Add(kUnreadable, {}, static_cast<double>(snapshot_->unreadable_processes));
  sink.Add(kHidden, {}, snapshot_->hidden ? 1 : 0);
  sink.Add(kDuration, {}, snapshot_->duration_seconds);
  sink.Add(kTimestamp, {}, snapshot_->timestamp_seconds);
  // From the steady clock: a wall-clock step (NTP, a VM resumed) must not make it negative.
  sink.Add(kAge, {},
           std::chrono::duration<double>(env_.clock.steady() - snapshot_->finished).count());
  return status_;
}

}  // namespace nfct
