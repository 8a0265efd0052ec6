// The judging step of `nf_conntrack_exporter doctor`: Facts in, a verdict (OK / AT RISK /
// DROPPING, exit code 0 / 1 / 2) with its reasons and recommendations sized from the measured
// numbers out. Pure: no I/O, no clock (Facts carries the time); thread safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/doctor/doctor_facts.h"

namespace nfct::doctor {

enum class Verdict { kOk = 0, kAtRisk = 1, kDropping = 2 };
std::string_view VerdictName(Verdict verdict);  // "OK", "AT RISK", "DROPPING"
inline int ExitCode(Verdict verdict) { return static_cast<int>(verdict); }

// Thresholds, the same as the shipped alerts (alerts/nf_conntrack.rules.yml).
inline constexpr double kAtRiskUsage = 0.8;           // NfConntrackTableNearlyFull
inline constexpr double kMaxEntriesPerBucket = 4;     // NfConntrackBucketsUndersized
inline constexpr double kTimeWaitDominates = 0.5;     // NfConntrackTimeWaitHigh
inline constexpr uint64_t kTimeWaitLongSeconds = 60;  // ... with a timeout above this
inline constexpr uint64_t kShortTimeWaitSeconds = 30;
// A kernel-log line this recent still puts its netns at risk.
inline constexpr double kRecentLogSeconds = 3600;
// A port holding this share of the dumped entries is a NOTRACK candidate.
inline constexpr double kNotrackShare = 0.1;
inline constexpr size_t kMaxNotrackPorts = 3;

struct Reason {
  Verdict level;
  std::string text;
};

// A line to keep in a file so a change survives a reboot.
struct PersistLine {
  std::string file;  // "/etc/sysctl.d/90-nf-conntrack.conf"
  std::string line;
};

struct Recommendation {
  std::string title;
  std::string reason;
  std::vector<std::string> commands;  // shell lines to run now, verbatim
  std::vector<PersistLine> persist;
  std::vector<std::string> warnings;
};

// Memory and default sizing of this kernel.
struct Sizing {
  uint64_t entry_bytes = 0;  // slab object (measured or estimated) + extension area
  uint64_t slab_bytes = 0;
  bool measured = false;
  std::optional<uint64_t> default_buckets;  // what this kernel picks for this much RAM
  std::optional<uint64_t> default_max;
  bool max_equals_buckets = true;  // 5.15+; before, max = 4 x buckets
};

struct NamespaceVerdict {
  NamespaceUsage usage;
  Verdict verdict = Verdict::kOk;
  std::string why;
};

struct Diagnosis {
  Verdict verdict = Verdict::kOk;         // the exit code: this netns and, when seen, every other
  Verdict here = Verdict::kOk;            // this netns alone
  std::vector<Reason> reasons;            // why, worst first
  std::optional<NamespaceVerdict> worst;  // the worst other namespace, when any was seen
  Sizing sizing;
  std::optional<uint64_t> proposed_max;
  std::optional<uint64_t> proposed_buckets;
  std::vector<Recommendation> recommendations;
};

Diagnosis Diagnose(const Facts& facts);

// Helpers the renderers share.
std::optional<double> Usage(const Facts& facts);  // entries / max; none when max is 0 or unknown
uint64_t Counter(const std::map<std::string, uint64_t>& counters, std::string_view name);
// The kernel-log line belongs to the netns the doctor runs in.
bool OwnLine(const Facts& facts, const TableFullLine& line);
// The line names this netns, yet this netns has dropped nothing: it was another's.
bool InodeReused(const Facts& facts, const TableFullLine& line);
std::string Thousands(uint64_t value);  // 262144 → "262,144"
std::string Bytes(double bytes);        // "4.0 MiB", "1.5 GiB", "384 B"
std::string Percent(double ratio);      // 0.923 → "92.3 %"

}  // namespace nfct::doctor
