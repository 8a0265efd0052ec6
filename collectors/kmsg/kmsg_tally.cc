#include "collectors/kmsg/kmsg_tally.h"

#include <algorithm>

namespace nfct {

bool KernelNamesNonInitNetns(std::optional<KernelVersion> running) {
  return running && *running >= KernelVersion{6, 17};
}

KmsgTally::KmsgTally(bool kernel_names_non_init_netns)
    : names_non_init_(kernel_names_non_init_netns) {
  // Series that exist from the start, so that the first line is an increase from 0 rather than
  // a new series (which rate() and increase() cannot see).
  snapshot_.messages[{"table_full", names_non_init_ ? "init" : "unknown"}] = 0;
  snapshot_.messages[{"expectation_table_full", "unknown"}] = 0;
}

std::string KmsgTally::NetnsLabel(const LogMatch& match) {
  // The expectation line never names a netns, on any kernel.
  if (match.event != LogEvent::kTableFull) return "unknown";
  if (!match.netns) return names_non_init_ ? "init" : "unknown";
  std::string label = std::to_string(*match.netns);
  if (snapshot_.messages.contains({"table_full", label})) return label;
  // Pods come and go: bound the series a long-lived exporter can accumulate.
  if (netns_labels_ >= kMaxNetnsLabels) return "other";
  ++netns_labels_;
  return label;
}

void KmsgTally::Observe(const LogMatch& match, std::optional<double> wall, bool live) {
  if (match.event == LogEvent::kNone) return;
  if (observer_) observer_(match, wall, live);
  if (match.event == LogEvent::kSuppressed) {
    if (live) snapshot_.suppressed += match.suppressed;
    return;
  }
  std::string message(LogEventLabel(match.event));
  if (wall) {
    auto [it, inserted] = snapshot_.last_seen.try_emplace(message, *wall);
    if (!inserted) it->second = std::max(it->second, *wall);
  }
  if (live) ++snapshot_.messages[{message, NetnsLabel(match)}];
}

}  // namespace nfct
