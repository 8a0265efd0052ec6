// Prometheus-style durations for collector options ("30s", "2m", "1h30m", "500ms").
// Pure function; used by flag parsing of collectors with a background interval.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace nfct {

// Units ms, s, m, h, d, w, y (Prometheus model.ParseDuration); each at most once, largest first.
// Returns nullopt for an empty, unitless, negative, out-of-order or overflowing duration.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

}  // namespace nfct
