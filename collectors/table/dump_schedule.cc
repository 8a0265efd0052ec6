#include "collectors/table/dump_schedule.h"

#include <algorithm>
#include <cmath>

namespace nfct {

std::string_view DumpTriggerLabel(DumpTrigger trigger) {
  switch (trigger) {
    case DumpTrigger::kNearFull:
      return "near_full";
    case DumpTrigger::kDropping:
      return "dropping";
    default:
      return "schedule";
  }
}

DumpSchedule::DumpSchedule(std::chrono::milliseconds interval, double budget)
    : interval_(interval), budget_(budget) {}

// The per-CPU counters wrap at 2^32, so their sum can move either way: any change is a drop.
int DumpSchedule::Level(const TableLoad& load) {
  bool dropped = load.drops && last_drops_ && *load.drops != *last_drops_;
  if (load.drops) last_drops_ = load.drops;
  if (dropped) return 2;
  if (load.count && load.max && *load.max > 0 &&
      static_cast<double>(*load.count) >= kNearFullRatio * static_cast<double>(*load.max)) {
    return 1;
  }
  return 0;
}

DumpTrigger DumpSchedule::Poll(Clock::time_point now, const TableLoad& load) {
  int level = Level(load);
  if (level == 0) {
    if (!calm_since_) calm_since_ = now;
    if (now - *calm_since_ >= kCalmToReset) episode_peak_ = 0;
  } else {
    calm_since_.reset();
  }
  // Only a rise to a worse kind of trouble than this episode has seen starts a dump: a table
  // that flaps around the threshold, or drops a little every second, is one episode.
  if (level > episode_peak_) {
    episode_peak_ = level;
    pending_ = level == 2 ? DumpTrigger::kDropping : DumpTrigger::kNearFull;
  }
  if (!last_start_) return DumpTrigger::kSchedule;
  if (pending_ != DumpTrigger::kNone && now - *last_start_ >= kTroubleFloor) return pending_;
  if (now >= next_due_) return DumpTrigger::kSchedule;
  return DumpTrigger::kNone;
}

void DumpSchedule::Done(Clock::time_point start, Clock::time_point end, double cpu_seconds) {
  last_start_ = start;
  last_end_ = end;
  pending_ = DumpTrigger::kNone;  // this dump saw the trouble that was waiting
  auto by_interval = start + std::chrono::duration_cast<Clock::duration>(interval_);
  next_due_ = by_interval;
  if (budget_ > 0 && cpu_seconds > 0) {
    // The pause after a dump is its CPU cost over the budget, so cost / (duration + pause) stays
    // under the budget whatever the table's size.
    auto by_budget = end + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(cpu_seconds / budget_));
    if (by_budget > by_interval) {
      next_due_ = by_budget;
      deferred_slots_ += static_cast<uint64_t>(
          std::ceil(std::chrono::duration<double>(by_budget - start) / interval_) - 1);
    }
  }
}

std::chrono::duration<double> DumpSchedule::Interval() const {
  if (!last_start_) return interval_;
  return next_due_ - *last_start_;
}

}  // namespace nfct
