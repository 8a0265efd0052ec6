// The background thread of a collector with an expensive source (table dump, netns walk): runs
// a function now and then every interval until stopped. Start() and Stop() may be called from
// any thread; the function runs only on the worker thread, never twice at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace nfct {

class PeriodicWorker {
 public:
  PeriodicWorker() = default;
  ~PeriodicWorker() { Stop(); }
  PeriodicWorker(const PeriodicWorker&) = delete;
  PeriodicWorker& operator=(const PeriodicWorker&) = delete;

  // Starts the thread; does nothing while it runs. A run longer than the interval skips slots
  // instead of running back to back, so the kernel is never asked twice in a row.
  void Start(std::chrono::milliseconds interval, std::function<void()> run);
  // Wakes the thread and waits for the run in progress to end (the caller makes it end soon).
  void Stop();

 private:
  void Loop(std::chrono::milliseconds interval, const std::function<void()>& run);

  std::mutex mutex_;  // guards stopping_ and thread_
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace nfct
