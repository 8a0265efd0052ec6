// When the table collector dumps: every --collector.table.interval at most, less often when the
// last dump's CPU cost divided by the CPU budget asks for a longer pause, and at once when the
// table crosses into trouble (near its limit, or dropping) within a hard floor. Pure: the caller
// passes the time and the table's load. Owned by the table worker; not thread safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace nfct {

// What the cheap files said at one tick: nf_conntrack_count, nf_conntrack_max, and the sum of
// the `drop` column of /proc/net/stat/nf_conntrack (nullopt when a file could not be read).
struct TableLoad {
  std::optional<uint64_t> count;
  std::optional<uint64_t> max;
  std::optional<uint64_t> drops;
};

enum class DumpTrigger { kNone, kSchedule, kNearFull, kDropping };
inline constexpr size_t kDumpTriggers = 3;  // the triggers that start a dump, kSchedule first
// The `trigger` label value: schedule, near_full, dropping.
std::string_view DumpTriggerLabel(DumpTrigger trigger);

class DumpSchedule {
 public:
  using Clock = std::chrono::steady_clock;
  // The share of nf_conntrack_max from which the table counts as near full: the
  // NfConntrackTableNearlyFull alert's threshold.
  static constexpr double kNearFullRatio = 0.80;
  // No trouble dump starts sooner than this after the start of the last dump: the longest a
  // trouble dump waits, and the shortest time between two dumps.
  static constexpr std::chrono::seconds kTroubleFloor{10};
  // An episode of trouble ends after this long with no new drop and the table below near full;
  // until then the same trouble does not start another dump.
  static constexpr std::chrono::seconds kCalmToReset{60};

  // `budget`: the share of one CPU dumps may use on average; 0 or less means no budget.
  DumpSchedule(std::chrono::milliseconds interval, double budget);

  // Called at every tick with the load just read: why a dump should start now, or kNone.
  DumpTrigger Poll(Clock::time_point now, const TableLoad& load);
  // Called after every dump attempt (complete or failed) with its wall start and end and the CPU
  // it cost; sets the next scheduled dump.
  void Done(Clock::time_point start, Clock::time_point end, double cpu_seconds);

  // From the start of the last dump to the next scheduled one; the configured interval before
  // the first dump.
  std::chrono::duration<double> Interval() const;
  // Times a dump was due by the configured interval but none started because the budget asked
  // for a longer pause, summed over all dumps.
  uint64_t deferred_slots() const { return deferred_slots_; }

 private:
  int Level(const TableLoad& load);

  const std::chrono::duration<double> interval_;
  const double budget_;
  std::optional<Clock::time_point> last_start_, last_end_;
  Clock::time_point next_due_{};
  uint64_t deferred_slots_ = 0;

  std::optional<uint64_t> last_drops_;
  int episode_peak_ = 0;  // 0 calm, 1 near full, 2 dropping: the worst seen in this episode
  std::optional<Clock::time_point> calm_since_;
  DumpTrigger pending_ = DumpTrigger::kNone;  // a trouble dump waiting for the floor
};

}  // namespace nfct
