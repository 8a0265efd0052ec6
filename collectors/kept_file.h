// A kernel file kept open and re-read from offset 0 with pread: procfs and sysfs files make their
// contents anew on every read, so a scrape pays one system call per file instead of
// open + read + read + close. Used by the sysctl and stat collectors and the exporter's self
// metrics. Not thread safe: the owner serialises calls (each owner holds its own mutex).
#pragma once

#include <filesystem>
#include <string>

namespace nfct {

class KeptFile {
 public:
  explicit KeptFile(std::filesystem::path path) : path_(std::move(path)) {}
  ~KeptFile() { Close(); }
  KeptFile(KeptFile&& other) noexcept;
  KeptFile& operator=(KeptFile&& other) noexcept;
  KeptFile(const KeptFile&) = delete;
  KeptFile& operator=(const KeptFile&) = delete;

  // The whole file into `out` (cleared first; its capacity is reused, so a file of steady size
  // costs no allocation). Returns 0, or the errno that stopped it (EFBIG past max_bytes); after an
  // error the file is closed and the next call opens it again (a module reloaded, a file that
  // came back).
  int Read(std::string& out, size_t max_bytes = 1 << 20);
  const std::filesystem::path& path() const { return path_; }

 private:
  void Close();
  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace nfct
