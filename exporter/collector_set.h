// The one source of /metrics: runs every enabled collector, times it, catches what it throws, adds
// nf_conntrack_scrape_collector_{duration_seconds,success}, nf_conntrack_module_loaded and the
// exporter's own metrics, and writes the exposition text (WriteScrape, the HTTP server) or returns
// families sorted by name (Collect, tests). Logs one line when a collector's state changes. Both
// are thread safe (HTTP threads scrape concurrently, each with its own ExpositionSink).
#pragma once

#include <prometheus/collectable.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "collectors/all.h"
#include "collectors/collector.h"
#include "collectors/env.h"
#include "exporter/exposition.h"
#include "exporter/self_metrics.h"

namespace nfct {

struct CollectorState {
  std::string name;
  Status status = Status::Ok();
  bool scraped = false;  // false until the first scrape
  double duration_seconds = 0;
};

class CollectorSet : public prometheus::Collectable {
 public:
  struct Named {
    std::string name;
    std::unique_ptr<Collector> collector;
  };
  // `env` gives the clock and the procfs root nf_conntrack_module_loaded looks under.
  CollectorSet(std::vector<Named> collectors, const Env& env, bool exporter_metrics);
  // Without an Env (the tests of one collector): no nf_conntrack_module_loaded, so that their
  // output does not depend on the machine the tests run on.
  CollectorSet(std::vector<Named> collectors, Clock clock, bool exporter_metrics);
  ~CollectorSet() override;

  void Start();
  void Stop();
  // Appends one scrape's exposition to `out`: families in name order, the bytes WriteExposition
  // writes from Collect(). `sink` is the caller's scratch, reused from scrape to scrape.
  void WriteScrape(ExpositionSink& sink, std::string& out) const;
  std::vector<prometheus::MetricFamily> Collect() const override;
  std::vector<CollectorState> States() const;
  // What each collector may raise around a kernel call (Collector::Capabilities), in order.
  std::vector<std::vector<Capability>> Capabilities() const;

  // The families this set adds itself, declared as data like every collector's.
  static const std::vector<FamilyDesc>& OwnFamilies();

 private:
  void CollectInto(MetricSink& sink) const;
  void Record(size_t index, const Status& status, double seconds) const;

  std::vector<Named> collectors_;
  Clock clock_;
  std::filesystem::path module_probe_;  // <procfs>/sys/net/netfilter/nf_conntrack_max
  bool exporter_metrics_;
  mutable SelfMetrics self_metrics_;
  mutable std::mutex mutex_;
  mutable std::vector<CollectorState> states_;
  bool started_ = false;
};

struct BuiltCollectorSet {
  std::unique_ptr<CollectorSet> set;
  std::string error;  // an invalid collector option
};

// Builds every collector that flags enable, in the order of collectors/all.cc.
BuiltCollectorSet BuildCollectorSet(
    const std::vector<CollectorEntry>& entries,
    const std::map<std::string, bool, std::less<>>& enabled,
    const std::map<std::string, CollectorOptions, std::less<>>& options, const Env& env,
    bool exporter_metrics);

}  // namespace nfct
