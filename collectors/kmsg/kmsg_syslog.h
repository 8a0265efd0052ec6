// Source "<path>": a syslog file (/var/log/kern.log, /var/log/messages) tailed by polling. Opening
// reads only the tail of the file (backlog → timestamps); then new complete lines count. Follows
// rotation by rename (drains the old file for a grace period while reading the new one) and by
// truncation (copytruncate). Only lines tagged "kernel:" are read. Used by one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "collectors/kmsg/kmsg_source.h"

namespace nfct {

class SyslogFileSource : public LogSource {
 public:
  static constexpr size_t kBacklogBytes = 4 << 20;   // how much of the file's end Open reads
  static constexpr size_t kMaxLineBytes = 64 << 10;  // longer lines are dropped and count as lost
  static constexpr size_t kMaxBytesPerPump = 16 << 20;

  struct Options {
    int poll_ms = 1000;
    // How long a renamed-away file is still drained: the logger writes to it until it reopens.
    std::chrono::milliseconds rotate_grace{30000};
  };

  // `now`: seconds since the epoch (RFC 3164 timestamps have no year).
  SyslogFileSource(std::filesystem::path path, std::function<double()> now, Options options);
  ~SyslogFileSource() override { Close(); }
  SyslogFileSource(const SyslogFileSource&) = delete;
  SyslogFileSource& operator=(const SyslogFileSource&) = delete;

  Status Open(KmsgTally& tally) override;
  Status Pump(KmsgTally& tally) override;
  WaitSpec Wait() const override { return {-1, POLLIN, options_.poll_ms}; }
  void Close() override;

 private:
  struct Tailed {
    int fd = -1;
    dev_t dev = 0;
    ino_t ino = 0;
    off_t offset = 0;
    std::string pending;           // an incomplete last line
    bool pending_backlog = false;  // that line began before Open: it does not count
    bool dropping = false;         // inside an over-long line
  };

  Status OpenTailed(Tailed& file);
  Status ReadNew(Tailed& file, KmsgTally& tally, bool live, size_t max_bytes);
  void HandleChunk(Tailed& file, std::string_view chunk, KmsgTally& tally, bool live);
  void HandleLine(std::string_view line, KmsgTally& tally, bool live);
  Status FollowRotation(KmsgTally& tally);
  static void CloseTailed(Tailed& file);

  std::filesystem::path path_;
  std::function<double()> now_;
  Options options_;
  Tailed current_;
  Tailed retired_;
  std::chrono::steady_clock::time_point retired_until_;
};

}  // namespace nfct
