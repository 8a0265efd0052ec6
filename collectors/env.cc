#include "collectors/env.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "collectors/text.h"

namespace nfct {

FileRead ReadFile(const std::filesystem::path& path, size_t max_bytes) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return FileRead{"", errno};
  return ReadOpenFile(fd, max_bytes);
}

FileRead ReadOpenFile(int fd, size_t max_bytes) {
  FileRead result;
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

SysctlRead ReadSysctlNumber(KeptFile& file, std::string& scratch) {
  // A sysctl number is at most 21 bytes: anything longer is not one.
  if (int error = file.Read(scratch, 64); error != 0) {
    return {std::nullopt, StatusFromErrno(error, file.path(), kConntrackNotLoaded, "root")};
  }
  auto value = ParseSysctlNumber(scratch);
  if (!value) return {std::nullopt, Status::Error("malformed number in " + file.path().string())};
  return {value, Status::Ok()};
}

SysctlRead ReadSysctlNumber(const std::filesystem::path& path) {
  KeptFile file(path);
  std::string scratch;
  return ReadSysctlNumber(file, scratch);
}

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
