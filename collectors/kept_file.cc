#include "collectors/kept_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace nfct {

KeptFile::KeptFile(KeptFile&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}

KeptFile& KeptFile::operator=(KeptFile&& other) noexcept {
  std::swap(path_, other.path_);
  std::swap(fd_, other.fd_);
  return *this;
}

void KeptFile::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

int KeptFile::Read(std::string& out, size_t max_bytes) {
  out.clear();
  if (fd_ < 0) fd_ = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) return errno;
  if (out.capacity() < 256) out.reserve(256);
  while (true) {
    size_t used = out.size();
    out.resize(out.capacity());  // within capacity: no allocation
    size_t room = out.size() - used;
    ssize_t n = pread(fd_, out.data() + used, room, static_cast<off_t>(used));
    if (n < 0 && errno == EINTR) {
      out.resize(used);
      continue;
    }
    if (n < 0) {
      int error = errno;
      out.clear();
      Close();
      return error;
    }
    out.resize(used + static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      out.clear();
      Close();
      return EFBIG;
    }
    // A short read is the end: seq_file and sysctl handlers fill the buffer until they run out,
    // and so does a regular file (the test fixtures). This saves the read that returns 0.
    if (static_cast<size_t>(n) < room) return 0;
    out.reserve(out.size() * 2);
  }
}

}  // namespace nfct
