// Source "/dev/kmsg": the kernel's structured log, one record per read(). Two descriptors: the
// live one is opened at the end (only records logged after Open count), a second one reads the
// ring from the oldest record to set last-seen timestamps and is closed. Sequence gaps (overrun
// → EPIPE, a record lost to EINVAL) count as lost records. Used by one thread; the KmsgFile seam
// lets tests replay records and inject errors.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "collectors/kmsg/kmsg_source.h"

namespace nfct {

struct KmsgRead {
  ssize_t bytes = 0;  // > 0: one record; <= 0: see error
  int error = 0;      // errno when bytes < 0 (EAGAIN when nothing is waiting)
};

// One open, non-blocking /dev/kmsg descriptor.
class KmsgFile {
 public:
  virtual ~KmsgFile() = default;
  virtual KmsgRead Read(char* buffer, size_t size) = 0;
  virtual int fd() const = 0;  // for poll(); -1 for fakes
};

struct KmsgOpen {
  std::unique_ptr<KmsgFile> file;
  int error = 0;
};
// Opens the device; `at_end`: positioned after the newest record (lseek SEEK_END).
using KmsgOpener = std::function<KmsgOpen(bool at_end)>;
KmsgOpener RealKmsgOpener(std::filesystem::path path);

class KmsgDeviceSource : public LogSource {
 public:
  // Records read per Pump before returning to publish; more are read on the next one.
  static constexpr int kMaxRecordsPerPump = 4096;

  // `boot_time`: the wall-clock time of boot in seconds since the epoch (record timestamps are
  // monotonic since boot).
  KmsgDeviceSource(std::filesystem::path path, KmsgOpener opener,
                   std::function<double()> boot_time);

  Status Open(KmsgTally& tally) override;
  Status Pump(KmsgTally& tally) override;
  WaitSpec Wait() const override;
  void Close() override { live_.reset(); }
  // devkmsg_open() checks CAP_SYSLOG under kernel.dmesg_restrict=1; reads are not checked.
  std::vector<Capability> Capabilities() const override { return {Capability::kSyslog}; }

 private:
  enum class Drained { kEmpty, kMore, kFailed };
  Drained Drain(KmsgFile& file, KmsgTally& tally, bool live, int max_records, Status& status);
  void Handle(std::string_view record, KmsgTally& tally, bool live, double boot);

  std::filesystem::path path_;
  KmsgOpener opener_;
  std::function<double()> boot_time_;
  std::unique_ptr<KmsgFile> live_;
  std::optional<uint64_t> last_seq_;
  int consecutive_einval_ = 0;
  std::vector<char> buffer_;
};

}  // namespace nfct
