// Test helpers of the kmsg collector's tests: fixture paths, a replayable fake /dev/kmsg with
// injected errors, and a golden-file comparison. Single-threaded use, except the fake's script,
// which is guarded so a reader thread and the test may share it.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "collectors/kmsg/kmsg_device.h"
#include "tests/collectors/kmsg/kmsg_records.h"

namespace nfct::testing {

inline std::filesystem::path KmsgFixture(std::string_view name) {
  return std::filesystem::path(NFCT_SOURCE_DIR) / "tests/fixtures/kmsg" / name;
}

inline std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// tests/golden/<name>.prom: golden files are shared with the exporter tests, which check that
// every declared family appears in one.
inline std::filesystem::path GoldenFile(std::string_view name) {
  return std::filesystem::path(NFCT_SOURCE_DIR) / "tests/golden" / (std::string(name) + ".prom");
}

// A script of read results: a record, or an errno. Empty → EAGAIN.
class KmsgScript {
 public:
  using Item = std::variant<std::string, int>;
  void Add(Item item) {
    std::lock_guard lock(mutex_);
    items_.push_back(std::move(item));
  }
  void AddRecords(const std::vector<std::string>& records) {
    for (const auto& record : records) Add(record);
  }
  KmsgRead Read(char* buffer, size_t size) {
    std::lock_guard lock(mutex_);
    if (items_.empty()) return {-1, EAGAIN};
    Item item = std::move(items_.front());
    items_.pop_front();
    if (auto* error = std::get_if<int>(&item)) return {-1, *error};
    const auto& record = std::get<std::string>(item);
    if (record.size() > size) return {-1, EINVAL};  // the kernel loses the record too
    std::memcpy(buffer, record.data(), record.size());
    return {static_cast<ssize_t>(record.size()), 0};
  }
  size_t size() {
    std::lock_guard lock(mutex_);
    return items_.size();
  }

 private:
  std::mutex mutex_;
  std::deque<Item> items_;
};

class FakeKmsgFile : public KmsgFile {
 public:
  explicit FakeKmsgFile(std::shared_ptr<KmsgScript> script) : script_(std::move(script)) {}
  KmsgRead Read(char* buffer, size_t size) override { return script_->Read(buffer, size); }
  int fd() const override { return -1; }

 private:
  std::shared_ptr<KmsgScript> script_;
};

// The live descriptor reads `live`; the backlog descriptor reads `backlog`. `open_error` fails
// every open with that errno.
struct FakeKmsg {
  std::shared_ptr<KmsgScript> live = std::make_shared<KmsgScript>();
  std::shared_ptr<KmsgScript> backlog = std::make_shared<KmsgScript>();
  std::atomic<int> open_error{0};  // the test changes it while a reader thread opens

  KmsgOpener Opener() {
    return [this](bool at_end) {
      if (int error = open_error.load(); error != 0) return KmsgOpen{nullptr, error};
      return KmsgOpen{std::make_unique<FakeKmsgFile>(at_end ? live : backlog), 0};
    };
  }
};

// Compares `actual` with the golden file; UPDATE_GOLDEN=1 rewrites it instead.
inline ::testing::AssertionResult MatchesGolden(const std::string& actual,
                                                const std::filesystem::path& golden) {
  if (std::getenv("UPDATE_GOLDEN") != nullptr) {
    std::filesystem::create_directories(golden.parent_path());
    std::ofstream(golden, std::ios::binary) << actual;
    return ::testing::AssertionSuccess();
  }
  std::string expected = ReadText(golden);
  if (expected == actual) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << golden << " differs (UPDATE_GOLDEN=1 rewrites it)\n"
                                       << "--- expected\n"
                                       << expected << "--- actual\n"
                                       << actual;
}

}  // namespace nfct::testing
