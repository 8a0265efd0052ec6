#include "collectors/env.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "collectors/text.h"

namespace nfct {

FileRead ReadFile(const std::filesystem::path& path, size_t max_bytes) {
  FileRead result;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    result.error = errno;
    return result;
  }
  char buffer[16384];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      result.error = errno;
      break;
    }
    if (n == 0) break;
    if (result.data.size() + static_cast<size_t>(n) > max_bytes) {
      result.error = EFBIG;
      break;
    }
    result.data.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  if (!result.ok()) result.data.clear();
  return result;
}

namespace {

enum class ErrnoKind { kMissing, kDenied, kOther };

// The one place that decides what an errno means for a collector.
ErrnoKind Classify(int error) {
  if (error == ENOENT || error == ENOTDIR) return ErrnoKind::kMissing;
  if (error == EACCES || error == EPERM) return ErrnoKind::kDenied;
  return ErrnoKind::kOther;
}

}  // namespace

Status StatusFromErrno(int error, const std::filesystem::path& path,
                       std::string_view what_if_missing, std::string_view capability) {
  switch (Classify(error)) {
    case ErrnoKind::kMissing:
      return Status::Unavailable(std::string(what_if_missing) + " (" + path.string() +
                                 " does not exist)");
    case ErrnoKind::kDenied:
      return Status::Unavailable("permission denied reading " + path.string() + ": needs " +
                                 std::string(capability));
    case ErrnoKind::kOther:
      break;
  }
  return Status::Error("reading " + path.string() + ": " + std::strerror(error));
}

Status ConntrackLoaded(const Env& env) {
  const auto max_path = env.Proc("sys/net/netfilter/nf_conntrack_max");
  if (std::filesystem::exists(max_path)) return Status::Ok();
  return Status::Unavailable(std::string(kConntrackNotLoaded) + " (" + max_path.string() +
                             " does not exist)");
}

SysctlFile::SysctlFile(SysctlFile&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_) {
  other.fd_ = -1;
}

SysctlFile& SysctlFile::operator=(SysctlFile&& other) noexcept {
  std::swap(path_, other.path_);
  std::swap(fd_, other.fd_);
  return *this;
}

void SysctlFile::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

SysctlRead SysctlFile::Read() {
  if (fd_ < 0) fd_ = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) return {std::nullopt, StatusFromErrno(errno, path_, kConntrackNotLoaded, "root")};
  char buffer[64];  // a sysctl number is at most 21 bytes
  ssize_t n = pread(fd_, buffer, sizeof buffer, 0);
  if (n < 0 || n == static_cast<ssize_t>(sizeof buffer)) {
    int error = n < 0 ? errno : EFBIG;
    Close();
    return {std::nullopt, StatusFromErrno(error, path_, kConntrackNotLoaded, "root")};
  }
  auto value = ParseSysctlNumber(std::string_view(buffer, static_cast<size_t>(n)));
  if (!value) return {std::nullopt, Status::Error("malformed number in " + path_.string())};
  return {value, Status::Ok()};
}

SysctlRead ReadSysctlNumber(const std::filesystem::path& path) { return SysctlFile(path).Read(); }

Status StatusFromNetlinkErrno(int error, std::string_view subject) {
  switch (Classify(error)) {
    case ErrnoKind::kMissing:
      return Status::Unavailable(std::string(subject) + ": " + std::strerror(error));
    case ErrnoKind::kDenied:
      return Status::Unavailable(std::string(subject) + " need CAP_NET_ADMIN");
    case ErrnoKind::kOther:
      break;
  }
  return Status::Error(std::string(subject) + ": " + std::strerror(error));
}

}  // namespace nfct
