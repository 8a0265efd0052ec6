#include "collectors/kmsg/kmsg_syslog.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "collectors/env.h"
#include "collectors/kmsg/kmsg_syslog_line.h"
#include "collectors/log.h"

namespace nfct {
namespace {

constexpr size_t kChunkBytes = 64 << 10;
constexpr std::string_view kPermission = "read permission on the file (e.g. group adm)";

}  // namespace

SyslogFileSource::SyslogFileSource(std::filesystem::path path, std::function<double()> now,
                                   Options options)
    : path_(std::move(path)), now_(std::move(now)), options_(options) {}

void SyslogFileSource::CloseTailed(Tailed& file) {
  if (file.fd >= 0) close(file.fd);
  file = Tailed{};
}

void SyslogFileSource::Close() {
  CloseTailed(current_);
  CloseTailed(retired_);
}

Status SyslogFileSource::OpenTailed(Tailed& file) {
  int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return StatusFromErrno(errno, path_, "no syslog file", kPermission);
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Status::Error(path_.string() + " is not a regular file");
  }
  file = Tailed{};
  file.fd = fd;
  file.dev = st.st_dev;
  file.ino = st.st_ino;
  return Status::Ok();
}

Status SyslogFileSource::Open(KmsgTally& tally) {
  Close();
  if (Status status = OpenTailed(current_); !status.ok()) return status;
  struct stat st {};
  fstat(current_.fd, &st);
  // Only the end of a long-lived log matters for "last seen"; reading all of it would make
  // start-up time grow with the file.
  if (static_cast<size_t>(st.st_size) > kBacklogBytes) {
    current_.offset = st.st_size - static_cast<off_t>(kBacklogBytes);
    current_.dropping = true;  // the first line is cut: skip to the next one
  }
  Status status = ReadNew(current_, tally, false, SIZE_MAX);
  // A line still being written when we started began before the start: it does not count.
  current_.pending_backlog = !current_.pending.empty() || current_.dropping;
  return status;
}

Status SyslogFileSource::ReadNew(Tailed& file, KmsgTally& tally, bool live, size_t max_bytes) {
  struct stat st {};
  if (fstat(file.fd, &st) != 0) return StatusFromErrno(errno, path_, "no syslog file", kPermission);
  if (st.st_size < file.offset) {
    // copytruncate: the logger goes on writing at the start of the same file.
    Log(LogLevel::kInfo, "syslog file truncated, reading from its start",
        {{"collector", "kmsg"}, {"path", path_.c_str()}});
    file.offset = 0;
    file.pending.clear();
    file.dropping = false;
    file.pending_backlog = false;
  }
  std::string buffer(kChunkBytes, '\0');
  for (size_t total = 0; total < max_bytes;) {
    ssize_t n = pread(file.fd, buffer.data(), buffer.size(), file.offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return StatusFromErrno(errno, path_, "no syslog file", kPermission);
    if (n == 0) break;
    file.offset += n;
    total += static_cast<size_t>(n);
    HandleChunk(file, std::string_view(buffer.data(), static_cast<size_t>(n)), tally, live);
  }
  return Status::Ok();
}

void SyslogFileSource::HandleChunk(Tailed& file, std::string_view chunk, KmsgTally& tally,
                                   bool live) {
  while (!chunk.empty()) {
    size_t newline = chunk.find('\n');
    if (file.dropping) {
      if (newline == std::string_view::npos) return;
      file.dropping = false;
      file.pending_backlog = false;
      chunk.remove_prefix(newline + 1);
      continue;
    }
    if (newline == std::string_view::npos) {
      file.pending.append(chunk);
      if (file.pending.size() > kMaxLineBytes) {
        if (live && !file.pending_backlog) tally.AddLost(1);
        file.pending.clear();
        file.dropping = true;
      }
      return;
    }
    std::string_view line = chunk.substr(0, newline);
    if (file.pending.size() + line.size() > kMaxLineBytes) {
      if (live && !file.pending_backlog) tally.AddLost(1);
    } else {
      if (!file.pending.empty()) {
        file.pending.append(line);
        line = file.pending;
      }
      HandleLine(line, tally, live && !file.pending_backlog);
    }
    file.pending_backlog = false;
    file.pending.clear();
    chunk.remove_prefix(newline + 1);
  }
}

void SyslogFileSource::HandleLine(std::string_view line, KmsgTally& tally, bool live) {
  std::optional<SyslogLine> parsed = ParseSyslogKernelLine(line);
  if (!parsed) return;
  LogMatch match = MatchKernelMessage(parsed->message);
  if (match.event == LogEvent::kNone) return;
  tally.Observe(match, SyslogTimeToEpoch(parsed->time, now_()), live);
}

Status SyslogFileSource::Pump(KmsgTally& tally) {
  if (current_.fd < 0) return Status::Error("reading " + path_.string() + ": not open");
  if (retired_.fd >= 0) {
    ReadNew(retired_, tally, true, kMaxBytesPerPump);
    if (std::chrono::steady_clock::now() >= retired_until_) CloseTailed(retired_);
  }
  if (Status status = ReadNew(current_, tally, true, kMaxBytesPerPump); !status.ok()) {
    return status;
  }
  return FollowRotation(tally);
}

Status SyslogFileSource::FollowRotation(KmsgTally& tally) {
  struct stat st {};
  // Between the rename and the new file's creation the path is missing: keep the old one.
  if (stat(path_.c_str(), &st) != 0) return Status::Ok();
  if (st.st_dev == current_.dev && st.st_ino == current_.ino) return Status::Ok();
  Tailed fresh;
  if (!OpenTailed(fresh).ok()) return Status::Ok();  // raced with another rotation: next time
  Log(LogLevel::kInfo, "syslog file rotated, following the new file",
      {{"collector", "kmsg"}, {"path", path_.c_str()}});
  CloseTailed(retired_);
  retired_ = std::move(current_);
  current_ = std::move(fresh);
  retired_until_ = std::chrono::steady_clock::now() + options_.rotate_grace;
  // The new file was created after we started: all of it is new.
  return ReadNew(current_, tally, true, kMaxBytesPerPump);
}

}  // namespace nfct
