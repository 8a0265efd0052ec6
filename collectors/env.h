// The seam between collectors and the machine: where procfs and sysfs are mounted, how a kernel
// file is read, which netns netlink talks to, the socket calls netlink replies arrive through, and
// what time it is. Tests point it at a fixture root, inject a clock and inject socket faults.
// Immutable after construction; safe to share between threads.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "collectors/collector.h"
#include "collectors/kept_file.h"

namespace nfct {

// The contents of a file, or the errno that stopped reading it.
struct FileRead {
  std::string data;
  int error = 0;  // 0 on success; errno otherwise (EFBIG when over the size limit)
  bool ok() const { return error == 0; }
};

// Reads a whole file (procfs files report size 0, so this reads until EOF) up to max_bytes.
FileRead ReadFile(const std::filesystem::path& path, size_t max_bytes = 1 << 20);

// The same from a descriptor already open (e.g. opened with a capability raised); closes it.
FileRead ReadOpenFile(int fd, size_t max_bytes = 1 << 20);

// What a missing conntrack file means: the StatusFromErrno `what_if_missing` of every collector.
inline constexpr std::string_view kConntrackNotLoaded = "nf_conntrack is not loaded";

// The one errno edge of every collector: ENOENT → Unavailable(what_if_missing),
// EACCES/EPERM → Unavailable(naming the capability), anything else → Error with the path.
Status StatusFromErrno(int error, const std::filesystem::path& path,
                       std::string_view what_if_missing, std::string_view capability);
// The same edge for a netlink request: `subject` names it ("netlink conntrack dumps"); every
// nfnetlink request needs CAP_NET_ADMIN.
Status StatusFromNetlinkErrno(int error, std::string_view subject);

struct Env;

// Whether nf_conntrack is loaded: Ok, or Unavailable("nf_conntrack is not loaded (...)") when
// /proc/sys/net/netfilter/nf_conntrack_max does not exist. Checked before any netlink request,
// because a request would load the module.
Status ConntrackLoaded(const Env& env);

// One sysctl number (e.g. nf_conntrack_count): the value, or the status through the errno edge
// (a missing file means nf_conntrack is not loaded) or "malformed number in <path>".
struct SysctlRead {
  std::optional<uint64_t> value;
  Status status = Status::Ok();
};

// One sysctl number from a file kept open (collectors/kept_file.h); `scratch` holds the text
// between reads so that a read allocates nothing. The file is closed after a failed read.
SysctlRead ReadSysctlNumber(KeptFile& file, std::string& scratch);

// One sysctl number read once: opened, read and closed.
SysctlRead ReadSysctlNumber(const std::filesystem::path& path);

struct Clock {
  std::function<std::chrono::system_clock::time_point()> wall = [] {
    return std::chrono::system_clock::now();
  };
  std::function<std::chrono::steady_clock::time_point()> steady = [] {
    return std::chrono::steady_clock::now();
  };
};

// The system calls through which collectors receive from the sockets they own (netlink replies),
// so that tests can inject what the kernel cannot be made to return on demand: ENOBUFS, EINTR,
// an NLMSG_ERROR reply such as EPERM. Same contract as the system call: a byte count, or -1 with
// errno set.
struct Syscalls {
  std::function<ssize_t(int fd, msghdr* message, int flags)> recvmsg = ::recvmsg;
};

struct Env {
  std::filesystem::path procfs = "/proc";
  std::filesystem::path sysfs = "/sys";
  Clock clock;
  // The network namespace netlink requests go to: empty for the exporter's own, else a netns
  // file such as /proc/<pid>/ns/net or /run/netns/<name> (collectors/netlink.h).
  std::filesystem::path netns;
  Syscalls syscalls;

  std::filesystem::path Proc(std::string_view relative) const { return procfs / relative; }
  std::filesystem::path Sys(std::string_view relative) const { return sysfs / relative; }
};

}  // namespace nfct
