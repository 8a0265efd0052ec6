// Loads the refused collector's BPF program (refused.bpf.c, embedded as a bpftool skeleton),
// attaches it to tp_btf/kfree_skb and reads its maps as raw bytes for refused_decoder.h.
// Load() raises CAP_BPF and CAP_PERFMON only around the load and attach (collectors/privilege.h);
// reading a map through the fd already held needs neither (before 6.5, with unprivileged BPF
// disabled, CAP_BPF: raised around the read only when it is refused without). Owned by
// RefusedCollector: Read() and Seed() may run on any one thread at a time; the kernel side is safe
// against the program.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "collectors/collector.h"

struct refused_bpf;

namespace nfct {

// The raw contents of the maps, one read.
struct RefusedMapBytes {
  std::string refused_keys, refused_values;    // map "refused"
  std::string overflow_keys, overflow_values;  // map "overflow"
  std::string stats;                           // map "stats", kRefusedStatCount × cpus u64
  size_t cpus = 0;                             // possible CPUs
  uint32_t refused_entries = 0;
};

// One read of every map: the bytes, or why not (the map and errno).
struct RefusedRead {
  RefusedMapBytes bytes;
  std::string error;
  int error_number = 0;  // its errno
};

// What the collector reads: the loaded program, or a fixture in tests.
class RefusedSource {
 public:
  virtual ~RefusedSource() = default;
  virtual RefusedRead ReadMaps() const = 0;
  // Writes netns's per-CPU counters (EncodeHistory) into map "history" unless the program
  // already keeps some (BPF_NOEXIST): the first refusal seen in that netns on a CPU can then be
  // classified too. False when not written.
  virtual bool Seed(uint32_t netns, const std::string& history) const = 0;
  virtual size_t cpus() const = 0;
};

struct RefusedLoaded {
  std::unique_ptr<RefusedSource> source;  // null unless status is Ok
  Status status = Status::Ok();
};

class RefusedProgram final : public RefusedSource {
 public:
  using Loaded = RefusedLoaded;
  // `sysfs` locates kernel/btf/vmlinux (checked first, to name it when missing); map_size is the
  // capacity of map "refused" (distinct netns/protocol/port keys before the overflow spills).
  // `seeds` (netns inode, EncodeHistory bytes) go into map "history" between load and attach,
  // so the program can classify the first drop it sees in each namespace already there.
  static Loaded Load(const std::filesystem::path& sysfs, uint32_t map_size,
                     const std::vector<std::pair<uint32_t, std::string>>& seeds);

  ~RefusedProgram();
  RefusedProgram(const RefusedProgram&) = delete;
  RefusedProgram& operator=(const RefusedProgram&) = delete;

  // The attach point in use; the info metric's label.
  static constexpr std::string_view kAttach = "tp_btf/kfree_skb";
  size_t cpus() const override { return cpus_; }
  // Every map, key by key (two system calls per key).
  RefusedRead ReadMaps() const override;
  bool Seed(uint32_t netns, const std::string& history) const override;

 private:
  RefusedProgram(refused_bpf* skeleton, size_t cpus) : skeleton_(skeleton), cpus_(cpus) {}
  RefusedRead ReadOnce() const;

  refused_bpf* skeleton_;
  size_t cpus_;
};

}  // namespace nfct
