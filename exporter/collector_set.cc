#include "exporter/collector_set.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>

#include "collectors/log.h"
#include "exporter/self_metrics.h"

namespace nfct {
namespace {

using prometheus::MetricType;

const FamilyDesc kDuration{"nf_conntrack_scrape_collector_duration_seconds",
                           MetricType::Gauge,
                           "Time the collector took in the last scrape.",
                           {"collector"}};
const FamilyDesc kSuccess{"nf_conntrack_scrape_collector_success",
                          MetricType::Gauge,
                          "Whether the collector read its source in the last scrape "
                          "(1 = yes, 0 = unavailable or failed).",
                          {"collector"}};
// A host without the module is a state of its own, not a failure: nothing is tracked there, so the
// conntrack collectors have nothing to read and report success 0 (Unavailable). This gauge lets
// rules tell that apart from a collector that fails on a host that does track connections.
const FamilyDesc kModuleLoaded{"nf_conntrack_module_loaded",
                               MetricType::Gauge,
                               "Whether the nf_conntrack kernel module is loaded (1) or not (0); "
                               "without it nothing is tracked and the conntrack collectors have "
                               "nothing to read.",
                               {}};

// The same test as ConntrackLoaded (collectors/env.h), one access() per scrape. Any error but
// "does not exist" leaves the state unknown: no sample rather than a wrong 0.
void AddModuleLoaded(const std::filesystem::path& probe, MetricSink& sink) {
  if (::access(probe.c_str(), F_OK) == 0) {
    sink.Add(kModuleLoaded, {}, 1);
  } else if (errno == ENOENT || errno == ENOTDIR) {
    sink.Add(kModuleLoaded, {}, 0);
  }
}

}  // namespace

const std::vector<FamilyDesc>& CollectorSet::OwnFamilies() {
  static const std::vector<FamilyDesc> kFamilies = [] {
    std::vector<FamilyDesc> families = {kDuration, kSuccess, kModuleLoaded};
    for (const auto& desc : SelfMetricFamilies()) families.push_back(desc);
    return families;
  }();
  return kFamilies;
}

CollectorSet::CollectorSet(std::vector<Named> collectors, const Env& env, bool exporter_metrics)
    : collectors_(std::move(collectors)),
      clock_(env.clock),
      module_probe_(env.Proc("sys/net/netfilter/nf_conntrack_max")),
      exporter_metrics_(exporter_metrics) {
  for (const auto& named : collectors_) states_.push_back({named.name});
}

CollectorSet::CollectorSet(std::vector<Named> collectors, Clock clock, bool exporter_metrics)
    : collectors_(std::move(collectors)),
      clock_(std::move(clock)),
      exporter_metrics_(exporter_metrics) {
  for (const auto& named : collectors_) states_.push_back({named.name});
}

CollectorSet::~CollectorSet() { Stop(); }

void CollectorSet::Start() {
  if (started_) return;
  started_ = true;
  for (auto& named : collectors_) named.collector->Start();
}

void CollectorSet::Stop() {
  if (!started_) return;
  started_ = false;
  for (auto& named : collectors_) named.collector->Stop();
}

void CollectorSet::Record(size_t index, const Status& status, double seconds) const {
  std::lock_guard lock(mutex_);
  CollectorState& state = states_[index];
  bool changed = !state.scraped || !(state.status == status);
  state.status = status;
  state.scraped = true;
  state.duration_seconds = seconds;
  if (!changed) return;
  // One line per change of state, never one per scrape.
  if (status.ok()) {
    Log(LogLevel::kInfo, "collector succeeded", {{"collector", state.name}});
  } else {
    Log(status.code() == Status::Code::kError ? LogLevel::kError : LogLevel::kWarn,
        status.code() == Status::Code::kError ? "collector failed" : "collector unavailable",
        {{"collector", state.name}, {"err", status.reason()}});
  }
}

void CollectorSet::CollectInto(MetricSink& sink) const {
  for (size_t i = 0; i < collectors_.size(); ++i) {
    const auto& named = collectors_[i];
    auto begin = clock_.steady();
    Status status = Status::Ok();
    try {
      status = named.collector->Collect(sink);
    } catch (const std::exception& e) {
      status = Status::Error(std::string("exception: ") + e.what());
    } catch (...) {
      status = Status::Error("unknown exception");
    }
    double seconds = std::chrono::duration<double>(clock_.steady() - begin).count();
    Record(i, status, seconds);
    sink.Add(kDuration, {named.name}, seconds);
    sink.Add(kSuccess, {named.name}, status.ok() ? 1 : 0);
  }
  if (!module_probe_.empty()) AddModuleLoaded(module_probe_, sink);
  if (exporter_metrics_) self_metrics_.Collect(sink);
}

void CollectorSet::WriteScrape(ExpositionSink& sink, std::string& out) const {
  if (sink.empty()) {
    // The name order is fixed here, once per sink, from what the collectors declare.
    for (const auto& named : collectors_) {
      for (const auto& desc : named.collector->Families()) sink.Declare(desc);
    }
    for (const auto& desc : OwnFamilies()) sink.Declare(desc);
  }
  sink.Clear();
  CollectInto(sink);
  sink.Finish(out);
}

std::vector<prometheus::MetricFamily> CollectorSet::Collect() const {
  FamilySink sink;
  CollectInto(sink);
  auto families = sink.Take();
  // prometheus-cpp 1.0.1 serialises in the given order: sort for a stable exposition.
  std::stable_sort(families.begin(), families.end(),
                   [](const auto& a, const auto& b) { return a.name < b.name; });
  return families;
}

std::vector<CollectorState> CollectorSet::States() const {
  std::lock_guard lock(mutex_);
  return states_;
}

std::vector<std::vector<Capability>> CollectorSet::Capabilities() const {
  std::vector<std::vector<Capability>> per_collector;
  for (const auto& named : collectors_) per_collector.push_back(named.collector->Capabilities());
  return per_collector;
}

BuiltCollectorSet BuildCollectorSet(
    const std::vector<CollectorEntry>& entries,
    const std::map<std::string, bool, std::less<>>& enabled,
    const std::map<std::string, CollectorOptions, std::less<>>& options, const Env& env,
    bool exporter_metrics) {
  std::vector<CollectorSet::Named> collectors;
  for (const auto& entry : entries) {
    auto it = enabled.find(entry.name);
    if (it == enabled.end() || !it->second) continue;
    auto option_it = options.find(entry.name);
    MadeCollector made =
        option_it == options.end() ? MakeCollector(entry, env) : entry.make(env, option_it->second);
    if (!made.collector) {
      return {nullptr, "collector " + std::string(entry.name) + ": " + made.error};
    }
    collectors.push_back({std::string(entry.name), std::move(made.collector)});
  }
  return {std::make_unique<CollectorSet>(std::move(collectors), env, exporter_metrics), ""};
}

}  // namespace nfct
