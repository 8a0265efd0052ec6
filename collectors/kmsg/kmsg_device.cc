#include "collectors/kmsg/kmsg_device.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "collectors/env.h"
#include "collectors/kmsg/kmsg_match.h"
#include "collectors/log.h"
#include "collectors/privilege.h"

namespace nfct {
namespace {

// The kernel's longest record (CONSOLE_EXT_LOG_MAX) is 8 KiB; a shorter buffer makes read() fail
// with EINVAL and lose that record.
constexpr size_t kBufferSize = 16 * 1024;
// Consecutive EINVALs mean the device cannot be read at all (kernels before 3.5), not a lost
// record.
constexpr int kMaxConsecutiveEinval = 16;
// A backlog longer than any ring buffer means the reader is not making progress.
constexpr int kMaxBacklogRecords = 4 * 1024 * 1024;

class RealKmsgFile : public KmsgFile {
 public:
  explicit RealKmsgFile(int fd) : fd_(fd) {}
  ~RealKmsgFile() override { close(fd_); }
  RealKmsgFile(const RealKmsgFile&) = delete;
  RealKmsgFile& operator=(const RealKmsgFile&) = delete;

  KmsgRead Read(char* buffer, size_t size) override {
    ssize_t n = read(fd_, buffer, size);
    return {n, n < 0 ? errno : 0};
  }
  int fd() const override { return fd_; }

 private:
  int fd_;
};

}  // namespace

KmsgOpener RealKmsgOpener(std::filesystem::path path) {
  return [path = std::move(path)](bool at_end) {
    int fd = -1;
    {
      ScopedCapability syslog(Capability::kSyslog);
      fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    }
    if (fd < 0) return KmsgOpen{nullptr, errno};
    if (at_end && lseek(fd, 0, SEEK_END) < 0) {
      int error = errno;
      close(fd);
      return KmsgOpen{nullptr, error};
    }
    return KmsgOpen{std::make_unique<RealKmsgFile>(fd), 0};
  };
}

KmsgDeviceSource::KmsgDeviceSource(std::filesystem::path path, KmsgOpener opener,
                                   std::function<double()> boot_time)
    : path_(std::move(path)),
      opener_(std::move(opener)),
      boot_time_(std::move(boot_time)),
      buffer_(kBufferSize) {}

Status KmsgDeviceSource::Open(KmsgTally& tally) {
  // The live descriptor first: whatever is logged from now on is read by it, so the backlog
  // read below can take its time without a gap between "backlog" and "live".
  KmsgOpen live = opener_(true);
  if (!live.file) {
    return StatusFromErrno(live.error, path_, "no kernel log device (a container without it?)",
                           "CAP_SYSLOG (kernel.dmesg_restrict=1)");
  }
  live_ = std::move(live.file);
  consecutive_einval_ = 0;
  KmsgOpen backlog = opener_(false);
  if (!backlog.file) {
    Log(LogLevel::kDebug, "cannot read the kernel log backlog",
        {{"collector", "kmsg"}, {"path", path_.c_str()}});
    return Status::Ok();
  }
  Status status = Status::Ok();
  if (Drain(*backlog.file, tally, false, kMaxBacklogRecords, status) == Drained::kFailed) {
    live_.reset();
    return status;
  }
  return Status::Ok();
}

Status KmsgDeviceSource::Pump(KmsgTally& tally) {
  if (!live_) return Status::Error("reading " + path_.string() + ": not open");
  Status status = Status::Ok();
  if (Drain(*live_, tally, true, kMaxRecordsPerPump, status) == Drained::kFailed) live_.reset();
  return status;
}

WaitSpec KmsgDeviceSource::Wait() const {
  // Fakes have no descriptor: poll them often.
  if (!live_ || live_->fd() < 0) return {-1, POLLIN, 10};
  return {live_->fd(), POLLIN, -1};
}

KmsgDeviceSource::Drained KmsgDeviceSource::Drain(KmsgFile& file, KmsgTally& tally, bool live,
                                                  int max_records, Status& status) {
  const double boot = boot_time_();
  for (int records = 0; records < max_records;) {
    KmsgRead read = file.Read(buffer_.data(), buffer_.size());
    if (read.bytes > 0) {
      consecutive_einval_ = 0;
      Handle(std::string_view(buffer_.data(), static_cast<size_t>(read.bytes)), tally, live, boot);
      ++records;
      continue;
    }
    if (read.bytes == 0 || read.error == EAGAIN) return Drained::kEmpty;
    // EPIPE: the ring overwrote records before we read them; reading resumes at the oldest one and
    // its sequence number says how many were lost. EINVAL: one record did not fit; the same.
    if (read.error == EINTR || read.error == EPIPE) continue;
    if (read.error == EINVAL && ++consecutive_einval_ <= kMaxConsecutiveEinval) continue;
    status = read.error == EINVAL
                 ? Status::Unavailable("reads from " + path_.string() +
                                       " keep failing with EINVAL (kernel older than 3.5?)")
                 : StatusFromErrno(read.error, path_, "kernel log device vanished",
                                   "CAP_SYSLOG (kernel.dmesg_restrict=1)");
    return Drained::kFailed;
  }
  return Drained::kMore;
}

void KmsgDeviceSource::Handle(std::string_view record, KmsgTally& tally, bool live, double boot) {
  KmsgClassified classified = ClassifyKmsgRecord(record);
  // A record that does not parse is not skipped silently: its sequence number is missing from
  // the stream, so the next record's gap counts it as lost.
  if (!classified.parse.ok()) return;
  const uint64_t seq = classified.parse.record.seq;
  if (live && last_seq_ && seq > *last_seq_ + 1) tally.AddLost(seq - *last_seq_ - 1);
  // The backlog and live descriptors overlap by the records logged while the backlog was read:
  // never move backwards, so the overlap is not mistaken for a gap.
  if (!last_seq_ || seq > *last_seq_) last_seq_ = seq;
  if (classified.match.event == LogEvent::kNone) return;
  double wall = boot + static_cast<double>(classified.parse.record.ts_usec) / 1e6;
  tally.Observe(classified.match, wall, live);
}

}  // namespace nfct
