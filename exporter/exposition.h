// The Prometheus text exposition format (0.0.4) written straight into a caller's buffer, so a
// scrape reuses one buffer instead of a stream per request. Output is byte-identical to
// prometheus-cpp 1.0.1's TextSerializer, except that a newline in a label value is written as
// \n as the format requires (TextSerializer writes a backslash and a raw newline).
// Called by the HTTP workers; pure, thread safe.
#pragma once

#include <prometheus/metric_family.h>

#include <string>
#include <vector>

namespace nfct {

// Appends the exposition of `families`, in the given order, to `out`.
void WriteExposition(const std::vector<prometheus::MetricFamily>& families, std::string& out);

}  // namespace nfct
