#include "exporter/http/connection_limits.h"

#include <netinet/in.h>

#include <algorithm>

namespace nfct {
namespace {

using SteadyClock = std::chrono::steady_clock;

// The client's address for --web.max-connections-per-ip ("from one client address", so across
// every listener and loop); "" for an address that is not IPv4 or IPv6 (not counted).
std::string ClientKey(const sockaddr* client) {
  if (client == nullptr) return "";
  if (client->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(client);
    return std::string(reinterpret_cast<const char*>(&in->sin_addr), sizeof in->sin_addr);
  }
  if (client->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(client);
    return std::string(reinterpret_cast<const char*>(&in6->sin6_addr), sizeof in6->sin6_addr);
  }
  return "";
}

}  // namespace

bool ConnectionLimits::Admit(const sockaddr* client) {
  // Counted right after accept() and before anything else, as libmicrohttpd counted it: counting
  // later (when the connection starts) let another loop's newer connection from the same client
  // take the slot first.
  const unsigned limit = limits_.max_connections_per_ip;
  std::string key = limit > 0 ? ClientKey(client) : "";
  if (key.empty()) return true;
  std::lock_guard lock(mutex_);
  unsigned& count = per_client_[key];
  if (count >= limit) return false;
  // Uncounted by Release. Should libmicrohttpd fail to set the connection up after this (out of
  // memory), its slot stays taken.
  ++count;
  return true;
}

ConnectionLimits::Slot* ConnectionLimits::Track(int fd, const sockaddr* client) {
  // Admit counted it under this key.
  std::string key = limits_.max_connections_per_ip > 0 ? ClientKey(client) : "";
  std::lock_guard lock(mutex_);
  Slot& slot = slots_.emplace_back();
  slot.client = std::move(key);
  slot.self = std::prev(slots_.end());
  slot.fd = fd;
  slot.deadline = SteadyClock::now() + limits_.read_header_timeout;
  reaper_cv_.notify_one();
  return &slot;
}

void ConnectionLimits::Release(Slot* slot) {
  std::lock_guard lock(mutex_);
  if (!slot->client.empty()) {
    auto counted = per_client_.find(slot->client);
    if (counted != per_client_.end() && --counted->second == 0) per_client_.erase(counted);
  }
  slots_.erase(slot->self);
}

void ConnectionLimits::HeadArrived(Slot* slot) {
  std::lock_guard lock(mutex_);
  slot->head_pending = false;
}

void ConnectionLimits::AwaitNextHead(Slot* slot) {
  std::lock_guard lock(mutex_);
  slot->head_pending = true;
  slot->deadline = SteadyClock::now() + limits_.idle_timeout + limits_.read_header_timeout;
}

void ConnectionLimits::StartReaper() {
  reaper_ = std::thread([this] { ReaperLoop(); });
}

void ConnectionLimits::StopReaper() {
  if (!reaper_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    reaper_stop_ = true;
  }
  reaper_cv_.notify_all();
  reaper_.join();
}

SteadyClock::time_point ConnectionLimits::ReapOverdue(SteadyClock::time_point now) {
  auto next = SteadyClock::time_point::max();
  for (Slot& slot : slots_) {
    if (!slot.head_pending) continue;
    if (slot.deadline <= now) {
      // A head that never completes (slowloris, a trickle of bytes): close the connection.
      // shutdown() wakes the event loop, which then closes and forgets it.
      shutdown(slot.fd, SHUT_RDWR);
      slot.head_pending = false;
    } else {
      next = std::min(next, slot.deadline);
    }
  }
  return next;
}

void ConnectionLimits::ReaperLoop() {
  std::unique_lock lock(mutex_);
  while (!reaper_stop_) {
    auto now = SteadyClock::now();
    auto next = ReapOverdue(now);
    // Deadlines are kept to within 100 ms; a wake-up per connection would cost more.
    if (next == SteadyClock::time_point::max()) {
      reaper_cv_.wait(lock);
    } else {
      reaper_cv_.wait_until(lock, std::max(next, now + std::chrono::milliseconds(100)));
    }
  }
}

}  // namespace nfct
