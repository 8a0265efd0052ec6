// What one client may hold: connections per client address (--web.max-connections-per-ip) and
// the deadline for each request head (--web.read-header-timeout; a reaper thread shuts down a
// connection whose head is overdue, e.g. slowloris). HttpServer's libmicrohttpd callbacks call it
// on the event-loop threads, Start/Stop from main's thread. Thread safe (one mutex).
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <condition_variable>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "exporter/http/http_options.h"

namespace nfct {

class ConnectionLimits {
 public:
  // One accepted connection as the limits see it; callers hold the pointer, never look inside.
  struct Slot {
    int fd = -1;
    std::string client;  // key in per_client_ while counted; "" when not counted
    std::list<Slot>::iterator self;
    bool head_pending = true;  // the reaper shuts the socket down when this is overdue
    std::chrono::steady_clock::time_point deadline;
  };

  explicit ConnectionLimits(const HttpLimits& limits) : limits_(limits) {}
  ~ConnectionLimits() { StopReaper(); }
  ConnectionLimits(const ConnectionLimits&) = delete;
  ConnectionLimits& operator=(const ConnectionLimits&) = delete;

  // Right after accept(): counts the client; false when it holds its limit already (close it
  // unanswered). Every admitted connection must later be Tracked and Released.
  bool Admit(const sockaddr* client);
  // The connection on `fd` from `client` has started: its first head is due within
  // read_header_timeout.
  Slot* Track(int fd, const sockaddr* client);
  // Before the socket is closed: uncounts the client and forgets the slot (so the reaper never
  // shuts down a descriptor that was reused).
  void Release(Slot* slot);
  // A request head is complete: no deadline until the request is answered.
  void HeadArrived(Slot* slot);
  // A request is answered; the next head on the kept-alive connection is due within the idle
  // timeout plus read_header_timeout.
  void AwaitNextHead(Slot* slot);

  void StartReaper();
  // Ends the reaper thread; a no-op when it is not running.
  void StopReaper();
  bool reaping() const { return reaper_.joinable(); }

 private:
  void ReaperLoop();
  // Shuts down every connection whose head is overdue; returns the earliest deadline left.
  std::chrono::steady_clock::time_point ReapOverdue(std::chrono::steady_clock::time_point now);

  const HttpLimits limits_;
  std::mutex mutex_;
  std::condition_variable reaper_cv_;
  std::list<Slot> slots_;
  std::map<std::string, unsigned> per_client_;  // open connections per client address
  bool reaper_stop_ = false;
  std::thread reaper_;
};

}  // namespace nfct
