#include "collectors/refused/refused_loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <mutex>

#include "collectors/log.h"
#include "collectors/privilege.h"
#include "collectors/refused/refused_abi.h"
#include "collectors/refused/refused_decoder.h"
#include "refused_bpf.skel.h"

namespace nfct {
namespace {

// libbpf prints its own diagnostics (verifier log, relocation failures) to stderr by default;
// routed into the exporter's log at debug level instead, one line per message.
int LibbpfPrint(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[1024];
  int n = std::vsnprintf(line, sizeof(line), format, args);
  std::string_view text(line, n < 0 ? 0 : std::min<size_t>(n, sizeof(line) - 1));
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  Log(LogLevel::kDebug, "libbpf", {{"collector", "refused"}, {"detail", text}});
  return 0;
}

bool Effective(const ThreadCapabilities& caps, Capability capability) {
  return (caps.effective >> static_cast<int>(capability) & 1) != 0;
}

// "" when the thread may load a tracing program, else the capabilities it lacks.
std::string MissingCapabilities() {
  ThreadCapabilities caps = CurrentCapabilities();
  if (Effective(caps, Capability::kSysAdmin)) return "";
  std::string missing;
  if (!Effective(caps, Capability::kBpf)) missing = "CAP_BPF";
  if (!Effective(caps, Capability::kPerfmon))
    missing += missing.empty() ? "CAP_PERFMON" : " and CAP_PERFMON";
  return missing;
}

std::string Errno(int error) { return std::strerror(error < 0 ? -error : error); }

// Appends every key and value of `map` to keys/values; 0 or a negative errno.
int Dump(const bpf_map* map, std::string& keys, std::string& values) {
  int fd = bpf_map__fd(map);
  size_t key_size = bpf_map__key_size(map);
  size_t value_size = bpf_map__value_size(map);
  std::string key(key_size, '\0'), next(key_size, '\0'), value(value_size, '\0');
  const void* previous = nullptr;  // null asks for the first key
  while (bpf_map_get_next_key(fd, previous, next.data()) == 0) {
    // A key deleted between the two calls is skipped; the program never deletes.
    if (bpf_map_lookup_elem(fd, next.data(), value.data()) == 0) {
      keys += next;
      values += value;
    }
    key.swap(next);
    previous = key.data();
  }
  return errno == ENOENT ? 0 : -errno;
}

}  // namespace

RefusedProgram::Loaded RefusedProgram::Load(
    const std::filesystem::path& sysfs, uint32_t map_size,
    const std::vector<std::pair<uint32_t, std::string>>& seeds) {
  static std::once_flag print_set;
  std::call_once(print_set, [] { libbpf_set_print(LibbpfPrint); });

  struct stat btf;
  std::filesystem::path btf_path = sysfs / "kernel/btf/vmlinux";
  if (stat(btf_path.c_str(), &btf) != 0) {
    return {nullptr, Status::Unavailable("no kernel BTF at " + btf_path.string() +
                                         " (CONFIG_DEBUG_INFO_BTF): " + Errno(errno))};
  }
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return {nullptr, Status::Error("possible CPUs: " + Errno(cpus))};

  refused_bpf* skeleton = refused_bpf__open();
  if (skeleton == nullptr) return {nullptr, Status::Error("BPF open: " + Errno(errno))};
  bpf_map__set_max_entries(skeleton->maps.refused, map_size);

  int error = 0;
  std::string missing;
  {
    // Only the load and the attach need them; both are lowered again at the end of this block.
    ScopedCapability bpf(Capability::kBpf);
    ScopedCapability perfmon(Capability::kPerfmon);
    missing = MissingCapabilities();
    error = refused_bpf__load(skeleton);
    if (error == 0) {
      int history = bpf_map__fd(skeleton->maps.history);
      for (const auto& [netns, bytes] : seeds) {
        if (bytes.size() == static_cast<size_t>(cpus) * kRefusedHistorySize) {
          bpf_map_update_elem(history, &netns, bytes.data(), BPF_NOEXIST);
        }
      }
      error = refused_bpf__attach(skeleton);
    }
  }
  if (error != 0) {
    refused_bpf__destroy(skeleton);
    if (error == -EPERM && !missing.empty()) {
      return {nullptr, Status::Unavailable("loading the BPF program needs " + missing)};
    }
    if (error == -EPERM) {
      // Capabilities held, still refused: lockdown, a security module or a platform policy.
      return {nullptr, Status::Unavailable("the kernel refused the BPF program (EPERM) although "
                                           "CAP_BPF and CAP_PERFMON were held (lockdown or a "
                                           "security policy?)")};
    }
    // EACCES is the verifier (run with --log.level=debug for its log), ENOENT a missing symbol.
    return {nullptr, Status::Error("BPF load/attach of tp_btf/kfree_skb: " + Errno(error))};
  }
  return {std::unique_ptr<RefusedProgram>(new RefusedProgram(skeleton, static_cast<size_t>(cpus))),
          Status::Ok()};
}

RefusedProgram::~RefusedProgram() { refused_bpf__destroy(skeleton_); }

RefusedRead RefusedProgram::ReadOnce() const {
  RefusedRead read;
  RefusedMapBytes& bytes = read.bytes;
  bytes.cpus = cpus_;
  if (int error = Dump(skeleton_->maps.refused, bytes.refused_keys, bytes.refused_values)) {
    read.error = "read map refused: " + Errno(error);
    read.error_number = -error;
    return read;
  }
  bytes.refused_entries = static_cast<uint32_t>(bytes.refused_keys.size() / kRefusedKeySize);
  if (int error = Dump(skeleton_->maps.overflow, bytes.overflow_keys, bytes.overflow_values)) {
    read.error = "read map overflow: " + Errno(error);
    read.error_number = -error;
    return read;
  }
  int fd = bpf_map__fd(skeleton_->maps.stats);
  std::string value(cpus_ * 8, '\0');
  for (uint32_t index = 0; index < kRefusedStatCount; ++index) {
    if (bpf_map_lookup_elem(fd, &index, value.data()) != 0) {
      read.error_number = errno;
      read.error = "read map stats: " + Errno(errno);
      return read;
    }
    bytes.stats += value;
  }
  return read;
}

RefusedRead RefusedProgram::ReadMaps() const {
  RefusedRead read = ReadOnce();
  if (read.error_number == EPERM) {
    // Before 6.5 the bpf() system call itself wants CAP_BPF when unprivileged BPF is disabled
    // (kernel.unprivileged_bpf_disabled), even on a map fd already held: raised for the read.
    ScopedCapability bpf(Capability::kBpf);
    read = ReadOnce();
  }
  return read;
}

bool RefusedProgram::Seed(uint32_t netns, const std::string& history) const {
  if (history.size() != cpus_ * kRefusedHistorySize) return false;
  int fd = bpf_map__fd(skeleton_->maps.history);
  if (bpf_map_update_elem(fd, &netns, history.data(), BPF_NOEXIST) == 0) return true;
  if (errno != EPERM) return false;
  ScopedCapability bpf(Capability::kBpf);  // as in ReadMaps, for kernels before 6.5
  return bpf_map_update_elem(fd, &netns, history.data(), BPF_NOEXIST) == 0;
}

}  // namespace nfct
