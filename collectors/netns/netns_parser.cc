#include "collectors/netns/netns_parser.h"

#include <algorithm>

#include "collectors/sysctl/sysctl_parser.h"
#include "collectors/text.h"

namespace nfct {
namespace {

constexpr std::string_view kNetnsDir = "/run/netns/";
constexpr size_t kContainerIdLength = 64;

bool IsHex(std::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return !text.empty();
}

// mountinfo escapes space, tab, newline and backslash as \ooo octal.
std::string UnescapeOctal(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size()) {
      auto digit = [](char c) { return c >= '0' && c <= '7'; };
      if (digit(text[i + 1]) && digit(text[i + 2]) && digit(text[i + 3])) {
        out.push_back(static_cast<char>((text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 +
                                        (text[i + 3] - '0')));
        i += 3;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

std::optional<NetnsMount> ParseMountLine(std::string_view line) {
  auto fields = SplitFields(line);
  // id parent major:minor root mount-point options [optional...] - fstype source super-options
  if (fields.size() < 10) return std::nullopt;
  size_t dash = 6;
  while (dash < fields.size() && fields[dash] != "-") ++dash;
  if (dash + 1 >= fields.size() || fields[dash + 1] != "nsfs") return std::nullopt;
  auto inode = ParseNetnsLink(fields[3]);
  auto mount_id = ParseSysctlNumber(fields[0]);
  if (!inode || !mount_id) return std::nullopt;
  NetnsMount mount{*inode, *mount_id, UnescapeOctal(fields[4]), ""};
  if (mount.path.starts_with(kNetnsDir) && mount.path.size() > kNetnsDir.size() &&
      mount.path.find('/', kNetnsDir.size()) == std::string::npos) {
    mount.name = mount.path.substr(kNetnsDir.size());
  }
  return mount;
}

// A Kubernetes pod UID as it appears in cgroup names: a UUID (36 characters), or the 32 hex
// digits of a static pod's config hash.
bool IsPodUid(std::string_view uid) {
  if (uid.size() == 32) return IsHex(uid);
  if (uid.size() != 36) return false;
  for (size_t i = 0; i < uid.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? uid[i] != '-' : !IsHex(uid.substr(i, 1))) return false;
  }
  return true;
}

// "kubepods-burstable-pod<uid with _>.slice" (systemd driver) or "pod<uid>" (cgroupfs driver,
// only below a kubepods component).
std::string PodUidOf(std::string_view component, bool below_kubepods) {
  std::string_view uid;
  if (component.starts_with("kubepods") && component.ends_with(".slice")) {
    size_t pod = component.rfind("-pod");
    if (pod == std::string_view::npos) return "";
    uid = component.substr(pod + 4, component.size() - pod - 4 - 6);
  } else if (below_kubepods && component.starts_with("pod")) {
    uid = component.substr(3);
  } else {
    return "";
  }
  std::string out(uid);
  for (char& c : out) {
    if (c == '_') c = '-';  // systemd slice names cannot hold '-' inside a part
  }
  return IsPodUid(out) ? out : "";
}

// "<runtime>-<id>.scope" (systemd), "crio-<id>" (CRI-O with cgroupfs) or a bare "<id>"
// (cgroupfs: Docker, containerd, kubelet). conmon's scope is the monitor, not the container.
std::string ContainerIdOf(std::string_view component) {
  if (component.ends_with(".scope")) component.remove_suffix(6);
  if (component.starts_with("crio-conmon-")) return "";
  for (std::string_view prefix : {"cri-containerd-", "crio-", "docker-", "libpod-"}) {
    if (component.starts_with(prefix)) {
      component.remove_prefix(prefix.size());
      break;
    }
  }
  if (component.size() != kContainerIdLength || !IsHex(component)) return "";
  return std::string(component);
}

ContainerRef ParseCgroupPath(std::string_view path) {
  ContainerRef ref;
  bool below_kubepods = false;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view component = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    if (component.empty()) continue;
    if (auto uid = PodUidOf(component, below_kubepods); !uid.empty()) ref.pod_uid = uid;
    if (auto id = ContainerIdOf(component); !id.empty()) ref.container_id = id;
    if (component.starts_with("kubepods")) below_kubepods = true;
  }
  return ref;
}

}  // namespace

std::optional<uint64_t> ParseNetnsLink(std::string_view link) {
  if (!link.starts_with("net:[") || !link.ends_with("]")) return std::nullopt;
  return ParseSysctlNumber(link.substr(5, link.size() - 6));
}

std::vector<NetnsMount> ParseNetnsMounts(std::string_view mountinfo) {
  std::vector<NetnsMount> mounts;
  while (!mountinfo.empty()) {
    std::string_view line = TakeLine(mountinfo);
    auto mount = ParseMountLine(line);
    if (!mount) continue;
    auto same = std::find_if(mounts.begin(), mounts.end(),
                             [&](const NetnsMount& m) { return m.inode == mount->inode; });
    if (same == mounts.end()) {
      mounts.push_back(std::move(*mount));
    } else if (same->name.empty() && !mount->name.empty()) {
      *same = std::move(*mount);
    }
  }
  return mounts;
}

ProcfsHiding ParseProcfsHiding(std::string_view mountinfo, std::string_view mount_point) {
  ProcfsHiding hiding;
  while (!mountinfo.empty()) {
    std::string_view line = TakeLine(mountinfo);
    auto fields = SplitFields(line);
    size_t dash = 6;
    while (dash < fields.size() && fields[dash] != "-") ++dash;
    // ... mount-point ... - proc <source> <super-options>
    if (fields.size() < 10 || dash + 3 >= fields.size() || fields[dash + 1] != "proc") continue;
    if (UnescapeOctal(fields[4]) != mount_point) continue;
    hiding = ProcfsHiding{};
    hiding.found = true;
    std::string_view options = fields[dash + 3];
    while (!options.empty()) {
      size_t comma = options.find(',');
      std::string_view option = options.substr(0, comma);
      options = comma == std::string_view::npos ? std::string_view() : options.substr(comma + 1);
      if (option.starts_with("hidepid=")) {
        std::string_view value = option.substr(8);
        hiding.denies_access = value == "1" || value == "noaccess";
        hiding.hides_processes =
            value == "2" || value == "invisible" || value == "4" || value == "ptraceable";
        if (hiding.denies_access || hiding.hides_processes) hiding.hidepid = value;
      } else if (option.starts_with("subset=")) {
        hiding.subset = option.substr(7);
      }
    }
  }
  return hiding;
}

ContainerRef ParseCgroup(std::string_view cgroup) {
  ContainerRef with_container;
  while (!cgroup.empty()) {
    std::string_view line = TakeLine(cgroup);
    // hierarchy-id:controllers:path; the path may itself hold ':'.
    size_t first = line.find(':');
    if (first == std::string_view::npos) continue;
    size_t second = line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    ContainerRef ref = ParseCgroupPath(line.substr(second + 1));
    if (!ref.pod_uid.empty()) return ref;
    if (with_container.container_id.empty()) with_container = ref;
  }
  return with_container;
}

}  // namespace nfct
