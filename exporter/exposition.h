// The Prometheus text exposition format (0.0.4) written straight into a caller's buffer:
// WriteExposition from prometheus-cpp families (tests, the object path), ExpositionSink from the
// samples of a scrape as collectors add them (the HTTP server). Output is byte-identical to
// prometheus-cpp 1.0.1's TextSerializer, except that a newline in a label value is written as \n
// as the format requires. WriteExposition is pure and thread safe; an ExpositionSink is not.
#pragma once

#include <prometheus/metric_family.h>

#include <string>
#include <vector>

#include "collectors/collector.h"

namespace nfct {

// Appends the exposition of `families`, in the given order, to `out`.
void WriteExposition(const std::vector<prometheus::MetricFamily>& families, std::string& out);

// Writes each sample's line at once into a text buffer of its family. The buffers keep their
// memory from scrape to scrape, so a warm scrape allocates nothing here. One per thread: the
// caller of CollectorSet::WriteScrape owns it.
class ExpositionSink final : public MetricSink {
 public:
  bool empty() const { return families_.empty(); }
  // Readies the buffer of a family, so that its first sample finds it without allocating.
  void Declare(const FamilyDesc& desc) { Slot(desc); }
  // Drops the samples of an unfinished scrape.
  void Clear();

  void Add(const FamilyDesc& desc, std::initializer_list<std::string_view> label_values,
           double value) override;
  void Add(const FamilyDesc& desc, const std::vector<std::string>& label_values,
           double value) override;
  // Appends HELP, TYPE and the samples of every family that has some, in name order, to `out`
  // (as WriteExposition of the same samples sorted by family name), and clears the buffers.
  void Finish(std::string& out);

 private:
  struct Family {
    std::string name;
    std::string help;
    prometheus::MetricType type;
    std::string samples;  // the sample lines, in the order they were added
  };
  Family& Slot(const FamilyDesc& desc);
  template <typename Values>
  void AddSample(const FamilyDesc& desc, const Values& label_values, double value);

  std::vector<Family> families_;  // sorted by name
  size_t last_ = 0;               // the slot of the last sample: collectors add in runs
};

}  // namespace nfct
