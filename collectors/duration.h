// Prometheus-style durations for collector options ("30s", "2m", "1h30m", "500ms").
// Pure function; used by flag parsing of collectors with a background interval.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace nfct {

// Units ms, s, m, h, d, w, y (Prometheus model.ParseDuration); each at most once, largest first.
// Returns nullopt for an empty, unitless, negative, out-of-order or overflowing duration.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

// The error of a flag that takes a duration above zero ("must be ..."), or "" when `text` is one.
// One wording for the exporter's, doctor's and every collector's duration flags.
std::string PositiveDurationError(std::string_view text);

}  // namespace nfct
