#include "collectors/netns/netns_walk.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <thread>
#include <variant>

#include "collectors/netns/netns_parser.h"
#include "collectors/privilege.h"

namespace nfct {
namespace {

constexpr std::string_view kStatFile = "net/stat/nf_conntrack";

class SetnsEnterer : public NetnsEnterer {
 public:
  explicit SetnsEnterer(std::filesystem::path procfs) : procfs_(std::move(procfs)) {}

  // setns(CLONE_NEWNET) changes only the calling thread, so a short-lived thread enters each
  // namespace in turn and the caller's own namespace never changes.
  std::vector<FileRead> ReadStat(const std::vector<std::string>& mount_paths) override {
    std::vector<FileRead> reads(mount_paths.size());
    const auto stat_path = procfs_ / "thread-self" / kStatFile;
    std::thread([&] {
      for (size_t i = 0; i < mount_paths.size(); ++i) {
        int fd = open(mount_paths[i].c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
          reads[i].error = errno;
          continue;
        }
        int rc = 0;
        {
          ScopedCapability sys_admin(Capability::kSysAdmin);  // setns() checks it
          rc = setns(fd, CLONE_NEWNET);
        }
        // EINVAL: the path is no netns any more. `ip netns del` unmounts the namespace before it
        // unlinks the file, so a walk that comes between opens an empty file: deleted, not failed.
        reads[i].error = rc == 0 ? 0 : errno == EINVAL ? ENOENT : errno;
        close(fd);
        if (rc == 0) reads[i] = ReadFile(stat_path);
      }
    }).join();
    return reads;
  }

 private:
  std::filesystem::path procfs_;
};

bool IsPid(const char* name) {
  if (*name == '\0') return false;
  for (; *name; ++name) {
    if (*name < '0' || *name > '9') return false;
  }
  return true;
}

// A process that exited between readdir and the read: not an error, not worth a word.
bool Vanished(int error) { return error == ENOENT || error == ESRCH; }

struct Pids {
  std::map<uint64_t, std::vector<pid_t>> by_inode;  // pids ascending within each inode
  uint64_t processes = 0;
  uint64_t unreadable = 0;
};

// The pid directories of <procfs>. Under hidepid=invisible (systemd's ProtectProc=invisible) the
// kernel lists only the processes this one may ptrace, judged by the effective set at the time of
// the getdents call: CAP_SYS_PTRACE is raised around each call, not around the whole walk.
std::vector<std::string> ListPids(const std::string& procfs) {
  std::vector<std::string> names;
  int fd = open(procfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return names;
  alignas(8) char buffer[32768];
  while (true) {
    long n = 0;
    {
      ScopedCapability sys_ptrace(Capability::kSysPtrace);
      n = syscall(SYS_getdents64, fd, buffer, sizeof buffer);
    }
    if (n <= 0) break;
    for (long offset = 0; offset < n;) {
      // struct linux_dirent64: ino (8), off (8), reclen (2), type (1), name.
      unsigned short reclen = 0;
      std::memcpy(&reclen, buffer + offset + 16, sizeof reclen);
      const char* name = buffer + offset + 19;
      if (IsPid(name)) names.emplace_back(name);
      offset += reclen;
    }
  }
  close(fd);
  return names;
}

// Opens a file under <procfs>/<pid>/ and reads it. The path walk through another user's
// process directory needs CAP_SYS_PTRACE under hidepid=: raised around the open only.
FileRead ReadProcessFile(const std::string& path, size_t max_bytes = 1 << 20) {
  int fd = -1;
  {
    ScopedCapability sys_ptrace(Capability::kSysPtrace);
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) return FileRead{"", errno};
  return ReadOpenFile(fd, max_bytes);
}

Pids ScanProcesses(const std::string& procfs) {
  Pids pids;
  std::string path;
  char link[64];
  for (const std::string& pid : ListPids(procfs)) {
    ++pids.processes;
    path = procfs + "/" + pid + "/ns/net";
    ssize_t n = 0;
    {
      // Another user's ns/net needs ptrace read access: CAP_SYS_PTRACE, for this call only.
      ScopedCapability sys_ptrace(Capability::kSysPtrace);
      n = readlink(path.c_str(), link, sizeof(link));
    }
    if (n < 0) {
      if (!Vanished(errno)) ++pids.unreadable;
      continue;
    }
    auto inode = ParseNetnsLink(std::string_view(link, static_cast<size_t>(n)));
    if (!inode) {
      ++pids.unreadable;
      continue;
    }
    pids.by_inode[*inode].push_back(static_cast<pid_t>(std::stoul(pid)));
  }
  for (auto& [inode, list] : pids.by_inode) std::sort(list.begin(), list.end());
  return pids;
}

// Fills entries and stat from the file's text; false with the reason when it is malformed.
bool FillFromStat(std::string_view text, const std::string& where, NetnsInfo& info) {
  auto parsed = ParseStatTable(text);
  if (auto* error = std::get_if<StatParseError>(&parsed)) {
    info.unread_reason = "malformed " + where + ": " + error->message;
    return false;
  }
  info.stat = std::get<StatTable>(std::move(parsed));
  auto column = std::find(info.stat.columns.begin(), info.stat.columns.end(), "entries");
  if (column == info.stat.columns.end() || info.stat.rows.empty()) {
    info.unread_reason = "no entries column in " + where;
    return false;
  }
  // "entries" is the namespace's count repeated on every CPU row.
  info.entries = info.stat.rows[0][column - info.stat.columns.begin()];
  info.read = true;
  return true;
}

// Reads the namespace through the first of its processes that is still there. nullopt when
// every one of them vanished: the namespace may be gone too.
std::optional<NetnsInfo> ReadThroughProcesses(const std::string& procfs, uint64_t inode,
                                              const std::vector<pid_t>& pids) {
  NetnsInfo info;
  info.inode = inode;
  for (pid_t pid : pids) {
    const std::string dir = procfs + "/" + std::to_string(pid) + "/";
    const std::string path = dir + std::string(kStatFile);
    FileRead file = ReadProcessFile(path);
    if (!file.ok()) {
      if (Vanished(file.error)) continue;
      info.unread_reason = StatusFromErrno(file.error, path, "", "root").reason();
      continue;
    }
    info.reader_pid = pid;
    if (!FillFromStat(file.data, path, info)) return info;
    if (FileRead cgroup = ReadProcessFile(dir + "cgroup", 1 << 16); cgroup.ok()) {
      ContainerRef ref = ParseCgroup(cgroup.data);
      info.pod_uid = std::move(ref.pod_uid);
      info.container_id = std::move(ref.container_id);
    }
    return info;
  }
  if (info.unread_reason.empty()) return std::nullopt;
  return info;
}

// The bind-mounted namespaces no process holds, read by entering them.
void ReadMounted(const std::vector<NetnsMount>& mounts, NetnsEnterer& enterer,
                 std::vector<NetnsInfo>& out) {
  if (mounts.empty()) return;
  std::vector<std::string> paths;
  for (const auto& mount : mounts) paths.push_back(mount.path);
  std::vector<FileRead> reads = enterer.ReadStat(paths);
  for (size_t i = 0; i < mounts.size() && i < reads.size(); ++i) {
    if (Vanished(reads[i].error)) continue;  // deleted since mountinfo was read
    NetnsInfo info;
    info.inode = mounts[i].inode;
    info.name = mounts[i].name;
    info.mount_id = mounts[i].mount_id;
    if (reads[i].ok()) {
      FillFromStat(reads[i].data, mounts[i].path, info);
    } else if (reads[i].error == EPERM) {
      info.unread_reason = "entering " + mounts[i].path + " needs CAP_SYS_ADMIN (setns)";
    } else {
      info.unread_reason = StatusFromErrno(reads[i].error, mounts[i].path, "", "root").reason();
    }
    out.push_back(std::move(info));
  }
}

}  // namespace

size_t NetnsWalk::Unread() const {
  return static_cast<size_t>(std::count_if(namespaces.begin(), namespaces.end(),
                                           [](const NetnsInfo& info) { return !info.read; }));
}

std::unique_ptr<NetnsEnterer> MakeSetnsEnterer(std::filesystem::path procfs) {
  return std::make_unique<SetnsEnterer>(std::move(procfs));
}

NetnsWalk WalkNetns(const Env& env) {
  auto enterer = MakeSetnsEnterer(env.procfs);
  return WalkNetns(env, *enterer);
}

NetnsWalk WalkNetns(const Env& env, NetnsEnterer& enterer) {
  NetnsWalk walk;
  // Without the module there is nothing to count, and reading would not load it; without
  // CONFIG_NF_CONNTRACK_PROCFS no namespace has the file this walk reads.
  if (Status loaded = ConntrackLoaded(env); !loaded.ok()) {
    walk.status = loaded;
    return walk;
  }
  const auto own_stat = env.Proc("self") / kStatFile;
  if (!std::filesystem::exists(own_stat)) {
    walk.status = Status::Unavailable(own_stat.string() +
                                      " does not exist (kernel without "
                                      "CONFIG_NF_CONNTRACK_PROCFS): no per-namespace counts");
    return walk;
  }

  const std::string procfs = env.procfs.string();
  walk.ptrace_denied = !CapabilityPermitted(Capability::kSysPtrace);
  std::vector<NetnsMount> mounts;
  if (FileRead mountinfo = ReadFile(env.Proc("self/mountinfo"), 16 << 20); mountinfo.ok()) {
    mounts = ParseNetnsMounts(mountinfo.data);
    ProcfsHiding hiding = ParseProcfsHiding(mountinfo.data, procfs);
    if (hiding.hides_processes && walk.ptrace_denied) {
      walk.hidden_by = procfs + " mounted with hidepid=" + hiding.hidepid;
    }
  }
  Pids pids = ScanProcesses(procfs);
  walk.processes = pids.processes;
  walk.unreadable_processes = pids.unreadable;
  std::vector<NetnsMount> unheld;
  for (const auto& mount : mounts) {
    if (!pids.by_inode.contains(mount.inode)) unheld.push_back(mount);
  }

  for (const auto& [inode, list] : pids.by_inode) {
    auto info = ReadThroughProcesses(procfs, inode, list);
    if (!info) continue;
    for (const auto& mount : mounts) {
      if (mount.inode == inode) info->name = mount.name;
    }
    walk.namespaces.push_back(std::move(*info));
  }
  ReadMounted(unheld, enterer, walk.namespaces);

  std::sort(walk.namespaces.begin(), walk.namespaces.end(),
            [](const NetnsInfo& a, const NetnsInfo& b) {
              if (a.read != b.read) return a.read;
              if (a.entries != b.entries) return a.entries > b.entries;
              return a.inode < b.inode;
            });
  return walk;
}

}  // namespace nfct
