// How a collector is built: the options it declares with their type (each becomes
// --collector.<name>.<option>), the checked values the exporter hands over, and what its
// Make<Name>Collector factory returns. Collector folders include this, never collectors/all.h.
// The framework (exporter/flags.cc) checks every value against its declaration, so a factory
// reads typed values and never parses or words an option error itself. Thread safe: plain data.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "collectors/collector.h"
#include "collectors/env.h"

namespace nfct {

// What one option's value is; decides how it is checked and how the factory reads it.
enum class OptionType {
  kText,      // any string; the collector judges it (e.g. a path)
  kDuration,  // a positive Prometheus duration: 30s, 2m, 1h30m
  kCount,     // a whole number from CollectorOption::min_count to max_count
  kRatio,     // a share of one: above 0, at most 1 (0.05 = 5 %)
};

// One option of one collector, declared beside the code that uses it.
struct CollectorOption {
  std::string_view name;  // without the "collector.<name>." prefix
  std::string_view default_value;
  std::string_view help;
  OptionType type = OptionType::kText;
  uint64_t max_count = std::numeric_limits<uint32_t>::max();  // kCount: the largest accepted
  uint64_t min_count = 0;                                     // kCount: the smallest accepted
};

// Option values as given on the command line, keyed by option name.
using OptionValues = std::map<std::string, std::string, std::less<>>;

// Why `value` is not a valid value of `option` ("must be ..."), or "" when it is.
std::string CheckOptionValue(const CollectorOption& option, std::string_view value);

// One collector's options, checked and typed, with every declared default filled in.
class CollectorOptions {
 public:
  // Checks `given` against `declared`; an invalid value or an undeclared name gives the error
  // "--collector.<collector>.<option>: must be ..." and empty options.
  struct Checked;
  static Checked Check(std::string_view collector, const std::vector<CollectorOption>& declared,
                       const OptionValues& given);

  // The value of a declared option of that type; the name and type are the collector's own
  // declaration, so a mismatch is a programming error (std::bad_variant_access, std::out_of_range).
  std::chrono::milliseconds Duration(std::string_view name) const;
  uint64_t Count(std::string_view name) const;
  double Ratio(std::string_view name) const;
  const std::string& Text(std::string_view name) const;

 private:
  using Value = std::variant<std::string, std::chrono::milliseconds, uint64_t, double>;
  const Value& Find(std::string_view name) const;
  std::map<std::string, Value, std::less<>> values_;
};

struct CollectorOptions::Checked {
  CollectorOptions options;
  std::string error;
};

// The collector, or why it could not be built (a resource it cannot open, named).
struct MadeCollector {
  std::unique_ptr<Collector> collector;
  std::string error;
};

// The shape every collector folder exports as Make<Name>Collector.
using CollectorFactory = std::function<MadeCollector(const Env&, const CollectorOptions&)>;

}  // namespace nfct
