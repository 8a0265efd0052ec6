// The contract between the exporter and every collector: a Status, the declaration of a metric
// family as data, the sink a scrape writes samples into, and the Collector interface itself.
// Collect() may be called from several HTTP threads at once: implementations must be thread safe.
#pragma once

#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/privilege.h"

namespace nfct {

// Ok: the source was read. Unavailable: the source is not here (module not loaded, missing
// capability, no /dev/kmsg) — expected on some hosts. Error: it should be here and reading failed.
class Status {
 public:
  enum class Code { kOk, kUnavailable, kError };

  static Status Ok() { return Status(Code::kOk, ""); }
  static Status Unavailable(std::string why) { return Status(Code::kUnavailable, std::move(why)); }
  static Status Error(std::string why) { return Status(Code::kError, std::move(why)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& reason() const { return reason_; }
  std::string_view CodeName() const;
  bool operator==(const Status&) const = default;

 private:
  Status(Code code, std::string reason) : code_(code), reason_(std::move(reason)) {}
  Code code_;
  std::string reason_;
};

// One metric family, declared once as data. Tests walk every declaration. A sample carries one
// value, so the type is Counter, Gauge or Untyped.
struct FamilyDesc {
  std::string_view name;
  prometheus::MetricType type;
  std::string_view help;
  std::vector<std::string_view> labels;
};

// Where a scrape writes its samples. The HTTP server's sink writes exposition text at once
// (exporter/exposition.h); FamilySink keeps prometheus-cpp objects for tests and the doctor.
class MetricSink {
 public:
  virtual ~MetricSink() = default;
  // Adds one sample; label_values pair up with desc.labels in order.
  virtual void Add(const FamilyDesc& desc, std::initializer_list<std::string_view> label_values,
                   double value) = 0;
  virtual void Add(const FamilyDesc& desc, const std::vector<std::string>& label_values,
                   double value) = 0;
};

// Collects samples as prometheus-cpp families, grouped by family in the order of first use.
class FamilySink final : public MetricSink {
 public:
  void Add(const FamilyDesc& desc, std::initializer_list<std::string_view> label_values,
           double value) override;
  void Add(const FamilyDesc& desc, const std::vector<std::string>& label_values,
           double value) override;
  std::vector<prometheus::MetricFamily> Take() { return std::move(families_); }

 private:
  template <typename Values>
  void AddSample(const FamilyDesc& desc, const Values& label_values, double value);
  std::vector<prometheus::MetricFamily> families_;
};

class Collector {
 public:
  virtual ~Collector() = default;

  // Every family this collector can emit; constant for the collector's lifetime.
  virtual const std::vector<FamilyDesc>& Families() const = 0;
  // The capabilities this collector may raise around a kernel call, ever. The exporter drops
  // every other one from its permitted set at start (exporter/capabilities.h).
  virtual std::vector<Capability> Capabilities() const { return {}; }

  // Appends the current samples. Partial output before a non-Ok status is still served.
  virtual Status Collect(MetricSink& sink) = 0;

  // Collectors that own a background worker start and stop it here; the default has none.
  virtual void Start() {}
  virtual void Stop() {}
};

}  // namespace nfct
