// Collector "kmsg": the conntrack lines of the kernel log (table full, expectation table full),
// the kernel's rate-limit summaries and lost records, from /dev/kmsg, journald or a syslog file.
// A reader thread owns the source and publishes a snapshot under a mutex; Collect only copies
// that snapshot, so it is thread safe and never waits on the kernel.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "collectors/collector.h"
#include "collectors/env.h"
#include "collectors/factory.h"
#include "collectors/kmsg/kmsg_source.h"
#include "collectors/kmsg/kmsg_tally.h"

namespace nfct {

class KmsgCollector : public Collector {
 public:
  struct Options {
    std::chrono::milliseconds retry{10000};  // between attempts to open an unavailable source
  };

  // `source_label`: the value of nf_conntrack_kernel_log_source_info{source}.
  KmsgCollector(Env env, std::string source_label, std::unique_ptr<LogSource> source,
                Options options);
  ~KmsgCollector() override;
  KmsgCollector(const KmsgCollector&) = delete;
  KmsgCollector& operator=(const KmsgCollector&) = delete;

  const std::vector<FamilyDesc>& Families() const override;
  std::vector<Capability> Capabilities() const override { return source_->Capabilities(); }
  Status Collect(MetricSink& sink) override;
  void Start() override;
  void Stop() override;

 private:
  void Run();
  void Publish(const KmsgTally& tally, const Status& status, bool opened);
  void WaitFor(const WaitSpec& wait);

  Env env_;
  std::string source_label_;
  std::unique_ptr<LogSource> source_;
  Options options_;
  int stop_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;

  std::mutex mutex_;
  KmsgSnapshot snapshot_;
  Status status_;
  bool opened_ = false;  // the source was read at least once: counters mean something
};

// --collector.kmsg.source: "/dev/kmsg" (or another character device), "journald",
// "journald:<directory>", or the absolute path of a syslog file.
const std::vector<CollectorOption>& KmsgCollectorOptions();
MadeCollector MakeKmsgCollector(const Env& env, const CollectorOptions& options);

// The LogSource a --collector.kmsg.source value names, or why the value is invalid. The
// collector and the doctor build their sources here, so both read a value the same way.
struct MadeLogSource {
  std::unique_ptr<LogSource> source;
  std::string error;  // "" when source is set
};
MadeLogSource MakeLogSource(const Env& env, const std::string& source);

}  // namespace nfct
