#include "collectors/factory.h"

#include <charconv>
#include <optional>
#include <stdexcept>

#include "collectors/duration.h"
#include "collectors/text.h"

namespace nfct {
namespace {

// A decimal share of one such as 0.05; nullopt for anything else, NaN and 0 included.
std::optional<double> ParseRatio(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (!(value > 0 && value <= 1)) return std::nullopt;
  return value;
}

}  // namespace

std::string CheckOptionValue(const CollectorOption& option, std::string_view value) {
  switch (option.type) {
    case OptionType::kText:
      return "";
    case OptionType::kDuration:
      return PositiveDurationError(value);
    case OptionType::kCount:
      return ParseWholeNumber(value, static_cast<long long>(option.min_count),
                              static_cast<long long>(option.max_count))
          .error;
    case OptionType::kRatio:
      if (ParseRatio(value)) return "";
      return "must be a share of one above 0, at most 1, such as 0.05";
  }
  return "has an option type this build does not know";
}

CollectorOptions::Checked CollectorOptions::Check(std::string_view collector,
                                                  const std::vector<CollectorOption>& declared,
                                                  const OptionValues& given) {
  auto flag = [&](std::string_view option) {
    return "--collector." + std::string(collector) + "." + std::string(option);
  };
  for (const auto& [name, value] : given) {
    bool known = false;
    for (const auto& option : declared) known = known || option.name == name;
    if (!known) return {{}, flag(name) + ": unknown flag (see --help)"};
  }
  Checked checked;
  for (const auto& option : declared) {
    auto it = given.find(option.name);
    std::string_view text = it == given.end() ? option.default_value : it->second;
    if (std::string why = CheckOptionValue(option, text); !why.empty()) {
      return {{}, flag(option.name) + ": " + why};
    }
    Value value;
    switch (option.type) {
      case OptionType::kText:
        value = std::string(text);
        break;
      case OptionType::kDuration:
        value = *ParseDuration(text);
        break;
      case OptionType::kCount:
        value = *ParseInteger<uint64_t>(text);
        break;
      case OptionType::kRatio:
        value = *ParseRatio(text);
        break;
    }
    checked.options.values_.emplace(option.name, std::move(value));
  }
  return checked;
}

const CollectorOptions::Value& CollectorOptions::Find(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end())
    throw std::out_of_range("undeclared collector option " + std::string(name));
  return it->second;
}

std::chrono::milliseconds CollectorOptions::Duration(std::string_view name) const {
  return std::get<std::chrono::milliseconds>(Find(name));
}

uint64_t CollectorOptions::Count(std::string_view name) const {
  return std::get<uint64_t>(Find(name));
}

double CollectorOptions::Ratio(std::string_view name) const { return std::get<double>(Find(name)); }

const std::string& CollectorOptions::Text(std::string_view name) const {
  return std::get<std::string>(Find(name));
}

}  // namespace nfct
