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
// A table at its limit that dropped this recently is still dropping: the flood may pause for a
// few seconds, the limit has not moved.
inline constexpr double kRecentDropSeconds = 60;
// A port holding this share of the dumped entries is a NOTRACK candidate.
inline constexpr double kNotrackShare = 0.1;
inline constexpr size_t kMaxNotrackPorts = 3;
// Refused keys the DROPPING reason names (the report lists up to --top-ports).
inline constexpr size_t kRefusedInReason = 3;

// The rules a verdict comes from, worst first; a report names the one that decided it.
struct Rule {
  std::string_view id;  // stable, for scripts: "full-and-dropped-last-minute"
  Verdict level;
  std::string_view text;  // the rule itself, a sentence
};
inline constexpr Rule kRules[] = {
    {"drops-in-window", Verdict::kDropping,
     "packets were dropped during the window (drop counter)."},
    {"chaintoolong-in-window", Verdict::kDropping,
     "inserts were refused during the window because a hash chain was too long."},
    {"full-and-dropped-last-minute", Verdict::kDropping,
     "the table is at its limit and dropped within the last minute (drop counter or the "
     "kernel's \"table full\" line)."},
    {"log-in-window", Verdict::kDropping,
     "the kernel logged \"table full\" for this netns during the window (counters unreadable)."},
    {"other-netns-dropping", Verdict::kDropping, "another network namespace is dropping."},
    {"full", Verdict::kAtRisk, "the table is at its limit, with no drop in the last minute."},
    {"nearly-full", Verdict::kAtRisk, "the table reached 80 % of its limit."},
    {"drops-since-start", Verdict::kAtRisk,
     "packets were dropped since the netns started, none during the window."},
    {"chaintoolong-since-start", Verdict::kAtRisk,
     "inserts were refused for a too long hash chain since the netns started."},
    {"early-drop-in-window", Verdict::kAtRisk,
     "entries were evicted during the window to make room."},
    {"long-chains", Verdict::kAtRisk, "more than 4 entries per hash bucket."},
    {"log-within-hour", Verdict::kAtRisk,
     "the kernel logged \"table full\" for this netns within the last hour."},
    {"other-netns-at-risk", Verdict::kAtRisk, "another network namespace is at risk."},
    {"none", Verdict::kOk, "no rule for AT RISK or DROPPING matched."},
};
// The rule of an id; the "none" rule for an unknown one.
const Rule& RuleById(std::string_view id);

struct Reason {
  Verdict level;
  std::string text;
  std::string_view rule = "none";  // the id of the rule it matched
};

// Whether a new scrape connection takes a conntrack entry here.
enum class Tracking { kUnknown, kTracked, kUntracked };
std::string_view TrackingName(Tracking tracking);  // "unknown", "tracked", "untracked"
struct ScrapePortVerdict {
  Tracking tracking = Tracking::kUnknown;
  std::string text;  // what was seen, and what a full table does to a scrape
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
  Verdict verdict = Verdict::kOk;  // the exit code: this netns and, when seen, every other
  Verdict here = Verdict::kOk;     // this netns alone
  std::vector<Reason> reasons;     // why, worst first
  std::string_view rule = "none";  // the rule that decided `verdict`
  ScrapePortVerdict scrape_port;
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
// "udp/53", "icmp" (no ports), "udp/other" (beyond the top keys), "other" (the maps' overflow).
std::string RefusedKeyName(const RefusedFlow& flow);
std::string Thousands(uint64_t value);  // 262144 → "262,144"
std::string Bytes(double bytes);        // "4.0 MiB", "1.5 GiB", "384 B"
std::string Percent(double ratio);      // 0.923 → "92.3 %"

}  // namespace nfct::doctor
