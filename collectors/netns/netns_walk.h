// One walk over every network namespace of the host: the processes under <procfs> (one reader
// pid per netns inode; listed with CAP_SYS_PTRACE raised, which hidepid= checks) and the namespaces
// bind-mounted without a process (`ip netns add`), each with its conntrack entries and per-CPU
// counters. Used by the netns collector's worker and by anything else that wants the fullest
// namespaces. WalkNetns is reentrant; a NetnsEnterer is used by one walk at a time.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "collectors/collector.h"
#include "collectors/env.h"
#include "collectors/stat/stat_parser.h"

namespace nfct {

// Reads a namespace's net/stat/nf_conntrack by entering it. The real one (MakeSetnsEnterer)
// runs a helper thread that setns()es into each bind mount in turn; setns needs CAP_SYS_ADMIN.
class NetnsEnterer {
 public:
  virtual ~NetnsEnterer() = default;
  // One FileRead per mount path, in order: the file's text, or the errno of open/setns/read.
  virtual std::vector<FileRead> ReadStat(const std::vector<std::string>& mount_paths) = 0;
};
std::unique_ptr<NetnsEnterer> MakeSetnsEnterer(std::filesystem::path procfs);

struct NetnsInfo {
  uint64_t inode = 0;        // as `readlink /proc/<pid>/ns/net` and the kernel log's "netns N"
  std::string name;          // `ip netns` name, "" when not bind-mounted under /run/netns
  std::string pod_uid;       // from the reader's cgroup, "" when unknown
  std::string container_id;  // from the reader's cgroup, "" when unknown
  pid_t reader_pid = 0;      // the process read; 0 when read by entering a bind mount
  uint64_t mount_id = 0;     // the bind mount entered (reader_pid == 0)
  bool read = false;         // false: seen but not readable (unread_reason says why)
  std::string unread_reason;
  uint64_t entries = 0;  // nf_conntrack_count of the namespace
  StatTable stat;        // its per-CPU counters as the kernel reported them (32-bit, raw)
};

struct NetnsWalk {
  Status status = Status::Ok();       // not Ok: nothing could be walked (namespaces is empty)
  std::vector<NetnsInfo> namespaces;  // read ones fullest first (ties by inode), then unread
  uint64_t processes = 0;             // processes looked at
  uint64_t unreadable_processes = 0;  // whose ns/net link could not be read (ptrace access)
  // Non-empty when <procfs> is mounted with hidepid=invisible or ptraceable (systemd's
  // ProtectProc=invisible) and CAP_SYS_PTRACE is not permitted: other users' processes are not
  // listed, so the namespaces only they hold are neither counted nor read. Says which option.
  std::string hidden_by;
  // CAP_SYS_PTRACE is not permitted: unreadable processes are this configuration's blind spot,
  // not a few processes more privileged than the exporter (an LSM, a sandbox's supervisor).
  bool ptrace_denied = false;
  size_t Unread() const;
};

// Walks once. A process or namespace that vanishes during the walk is left out silently.
NetnsWalk WalkNetns(const Env& env, NetnsEnterer& enterer);
// The same with MakeSetnsEnterer(env.procfs).
NetnsWalk WalkNetns(const Env& env);

}  // namespace nfct
