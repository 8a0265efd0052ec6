// Pure parsers of the netns collector: the ns/net link text, /proc/<pid>/mountinfo (bind mounts
// of network namespaces) and /proc/<pid>/cgroup (pod UID and container ID). No I/O; fuzzable.
// Lines they read, from kernel 6.18 (the formats are unchanged since 3.x):
//   readlink /proc/1/ns/net  ->  net:[4026531840]
//   mountinfo                ->  45 44 0:4 net:[4026532177] /run/netns/blue rw shared:2 - nsfs nsfs
//   rw cgroup                   ->
//   0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-
//                                pod<uid_with_underscores>.slice/cri-containerd-<64 hex>.scope
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nfct {

// The inode of "net:[4026531840]" (what readlink gives for <procfs>/<pid>/ns/net, and the root
// field of an nsfs mount), or nullopt for anything else.
std::optional<uint64_t> ParseNetnsLink(std::string_view link);

// A network namespace kept alive by a bind mount (what `ip netns add NAME` makes).
struct NetnsMount {
  uint64_t inode = 0;
  uint64_t mount_id = 0;  // changes when the namespace is deleted and made again
  std::string path;       // the mount point, unescaped
  std::string name;       // the `ip netns` name for mounts under /run/netns, else ""
};

// Every nsfs mount of a network namespace in mountinfo text, one per inode (the first mount
// under /run/netns wins, so a name is kept when a namespace is mounted twice). Lines that are
// not nsfs network-namespace mounts, or are malformed, are ignored.
std::vector<NetnsMount> ParseNetnsMounts(std::string_view mountinfo);

// How the procfs mounted at a mount point hides processes, from its mountinfo line's super
// options: "22 27 0:21 / /proc rw,nosuid - proc proc rw,hidepid=invisible" (systemd's
// ProtectProc=invisible; kernels before 5.8 print the number, hidepid=2).
struct ProcfsHiding {
  bool found = false;   // a proc mount at that point is in the text
  std::string hidepid;  // as mounted ("invisible", "2", ...); "" when processes are not hidden
  bool hides_processes = false;  // invisible/ptraceable (2/4): only ptrace-readable ones listed
  bool denies_access = false;    // noaccess (1): listed, but their directories unreadable
  std::string subset;            // "pid": only process directories are shown
};
// The last proc mount at `mount_point` wins (it is the one on top).
ProcfsHiding ParseProcfsHiding(std::string_view mountinfo, std::string_view mount_point);

// Who a process belongs to, from its cgroup path; empty strings when unknown.
struct ContainerRef {
  std::string pod_uid;       // Kubernetes pod UID with dashes, as in kube_pod_info{uid}
  std::string container_id;  // 64 hex digits (containerd, CRI-O, Docker, podman)
  bool operator==(const ContainerRef&) const = default;
};

// Reads /proc/<pid>/cgroup (v1 and v2 lines). Layouts known: kubelet with the systemd driver
// (kubepods-<qos>-pod<uid_>.slice/{cri-containerd,crio,docker}-<id>.scope), with the cgroupfs
// driver (/kubepods/<qos>/pod<uid>/<id>), CRI-O's cgroupfs crio-<id>, plain Docker
// (docker-<id>.scope, /docker/<id>), containerd namespaces (/<namespace>/<id>) and podman
// (libpod-<id>.scope). The first line that names a pod wins, else the first naming a container.
ContainerRef ParseCgroup(std::string_view cgroup);

}  // namespace nfct
