// What the kernel log said since the exporter started: conntrack lines per message and netns, the
// rate-limit summaries, lost records, and when each message was last seen (backlog included).
// Owned by the one reader thread of the kmsg collector; not thread safe, the collector copies the
// snapshot under its mutex.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "collectors/kmsg/kmsg_match.h"

namespace nfct {

struct KmsgSnapshot {
  std::map<std::pair<std::string, std::string>, uint64_t> messages;  // (message, netns) → lines
  uint64_t suppressed = 0;
  uint64_t lost = 0;
  std::map<std::string, double> last_seen;  // message → seconds since the epoch
  bool operator==(const KmsgSnapshot&) const = default;
};

// The netns label of a table-full line without "in netns N": kernels 6.17 and later print the
// inode for every netns but the initial one, so there the line is "init"; older kernels (or an
// unknown version) never say, so "unknown".
bool KernelNamesNonInitNetns(std::optional<KernelVersion> running);

class KmsgTally {
 public:
  // Distinct netns labels kept before further ones are folded into netns="other".
  static constexpr size_t kMaxNetnsLabels = 1024;

  explicit KmsgTally(bool kernel_names_non_init_netns);

  // A recognised line. `live`: logged after the exporter started, so it counts; a backlog line
  // only moves last_seen. `wall`: its time in seconds since the epoch, when known.
  void Observe(const LogMatch& match, std::optional<double> wall, bool live);
  void AddLost(uint64_t records) { snapshot_.lost += records; }
  const KmsgSnapshot& snapshot() const { return snapshot_; }

  // Called with every recognised line, backlog included, before it is tallied: the doctor
  // lists the table-full lines of the backlog by netns and time. A source that stops its
  // backlog scan early once it knows the last-seen times reads on while one is set.
  using LineObserver = std::function<void(const LogMatch&, std::optional<double> wall, bool live)>;
  void SetObserver(LineObserver observer) { observer_ = std::move(observer); }
  bool WantsEveryBacklogLine() const { return static_cast<bool>(observer_); }

 private:
  std::string NetnsLabel(const LogMatch& match);
  bool names_non_init_;
  size_t netns_labels_ = 0;
  KmsgSnapshot snapshot_;
  LineObserver observer_;
};

}  // namespace nfct
