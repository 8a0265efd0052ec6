#include "collectors/periodic_worker.h"

namespace nfct {

void PeriodicWorker::Start(std::chrono::milliseconds interval, std::function<void()> run) {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this, interval, run = std::move(run)] { Loop(interval, run); });
}

void PeriodicWorker::Stop() {
  std::thread thread;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    thread = std::move(thread_);
  }
  wake_.notify_all();
  if (thread.joinable()) thread.join();
}

void PeriodicWorker::Loop(std::chrono::milliseconds interval, const std::function<void()>& run) {
  auto next = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_);
  while (!wake_.wait_until(lock, next, [this] { return stopping_; })) {
    lock.unlock();
    auto started = std::chrono::steady_clock::now();
    run();
    lock.lock();
    next = started + interval;
    for (auto now = std::chrono::steady_clock::now(); next <= now;) next += interval;
  }
}

}  // namespace nfct
