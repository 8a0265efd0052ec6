// Tables for the netns collector's pure parsers: the ns/net link, nsfs mounts in mountinfo and
// every cgroup layout the collector knows, each with the lines it must reject.
#include "collectors/netns/netns_parser.h"

#include <gtest/gtest.h>

namespace nfct {
namespace {

TEST(ParseNetnsLink, AcceptsTheKernelsLinkText) {
  // readlink /proc/1/ns/net on 6.18
  EXPECT_EQ(ParseNetnsLink("net:[4026531840]"), 4026531840u);
  EXPECT_EQ(ParseNetnsLink("net:[1]"), 1u);
}

TEST(ParseNetnsLink, RejectsEverythingElse) {
  for (std::string_view bad :
       {"", "net:[]", "net:[x]", "mnt:[4026531840]", "net:4026531840", "net:[4026531840",
        "net:[-1]", "net:[99999999999999999999]", "pipe:[123]", " net:[1]"}) {
    EXPECT_FALSE(ParseNetnsLink(bad)) << bad;
  }
}

TEST(ParseNetnsMounts, FindsNetnsBindMountsAndTheirNames) {
  // /proc/self/mountinfo after `ip netns add blue` on 6.18, plus a Docker netns mount.
  auto mounts = ParseNetnsMounts(
      "27 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
      "44 25 0:25 /netns /run/netns rw,nosuid,nodev shared:5 - tmpfs tmpfs rw,mode=755\n"
      "45 44 0:4 net:[4026532177] /run/netns/blue rw shared:2 - nsfs nsfs rw\n"
      "49 25 0:4 net:[4026532323] /run/docker/netns/1a2b3c rw - nsfs nsfs rw\n"
      "52 44 0:4 net:[4026532324] /run/netns/with\\040space rw shared:2 - nsfs nsfs rw");
  ASSERT_EQ(mounts.size(), 3u);
  EXPECT_EQ(mounts[0].inode, 4026532177u);
  EXPECT_EQ(mounts[0].mount_id, 45u);
  EXPECT_EQ(mounts[0].path, "/run/netns/blue");
  EXPECT_EQ(mounts[0].name, "blue");
  EXPECT_EQ(mounts[1].path, "/run/docker/netns/1a2b3c");
  EXPECT_EQ(mounts[1].name, "");
  EXPECT_EQ(mounts[2].path, "/run/netns/with space");
  EXPECT_EQ(mounts[2].name, "with space");
}

TEST(ParseNetnsMounts, OneEntryPerInodeAndTheNamedMountWins) {
  auto mounts = ParseNetnsMounts(
      "60 25 0:4 net:[4026532500] /var/lib/x/ns rw - nsfs nsfs rw\n"
      "61 44 0:4 net:[4026532500] /run/netns/red rw shared:2 - nsfs nsfs rw\n"
      "62 44 0:4 net:[4026532500] /run/netns/red2 rw shared:2 - nsfs nsfs rw\n");
  ASSERT_EQ(mounts.size(), 1u);
  EXPECT_EQ(mounts[0].name, "red");
  EXPECT_EQ(mounts[0].mount_id, 61u);
}

TEST(ParseNetnsMounts, RejectsWhatIsNotANetnsMount) {
  EXPECT_TRUE(ParseNetnsMounts("").empty());
  EXPECT_TRUE(ParseNetnsMounts(
                  // a mount namespace, not a network one
                  "50 44 0:4 mnt:[4026532400] /run/netns/m rw - nsfs nsfs rw\n"
                  // tmpfs, not nsfs
                  "51 44 0:25 net:[4026532401] /run/netns/t rw - tmpfs tmpfs rw\n"
                  // no separator
                  "53 44 0:4 net:[4026532402] /run/netns/s rw nsfs nsfs rw\n"
                  // separator but no fstype
                  "54 44 0:4 net:[4026532403] /run/netns/u rw shared:2 -\n"
                  // bad mount id
                  "x 44 0:4 net:[4026532404] /run/netns/v rw - nsfs nsfs rw\n"
                  // truncated
                  "55 44 0:4 net:[4026532405]\n")
                  .empty());
}

TEST(ParseNetnsMounts, NameOnlyDirectlyUnderRunNetns) {
  auto mounts = ParseNetnsMounts(
      "70 44 0:4 net:[4026532600] /run/netns/a/b rw - nsfs nsfs rw\n"
      "71 44 0:4 net:[4026532601] /run/netns/ rw - nsfs nsfs rw\n");
  ASSERT_EQ(mounts.size(), 2u);
  EXPECT_EQ(mounts[0].name, "");
  EXPECT_EQ(mounts[1].name, "");
}

const std::string kId64a(64, 'a');
const std::string kId64b = std::string(32, '0') + std::string(32, 'f');

TEST(ParseProcfsHiding, ReadsHidepidAndSubsetOfTheMountOnTop) {
  struct Case {
    std::string_view line;  // the proc mount at /proc
    std::string hidepid;
    bool hides, denies;
    std::string subset;
  };
  const Case kAccept[] = {
      // As systemd mounts it for ProtectProc=invisible with ProcSubset=pid.
      {"1197 1180 0:93 / /proc rw,nosuid,nodev,noexec,relatime - proc proc "
       "rw,hidepid=invisible,subset=pid",
       "invisible", true, false, "pid"},
      {"22 27 0:21 / /proc rw - proc proc rw,hidepid=ptraceable", "ptraceable", true, false, ""},
      {"22 27 0:21 / /proc rw - proc proc rw,hidepid=noaccess", "noaccess", false, true, ""},
      // Before 5.8 the kernel printed the number.
      {"22 27 0:21 / /proc rw - proc proc rw,hidepid=2,gid=27", "2", true, false, ""},
      {"22 27 0:21 / /proc rw - proc proc rw,hidepid=1", "1", false, true, ""},
      {"22 27 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw", "", false,
       false, ""},
  };
  for (const auto& c : kAccept) {
    ProcfsHiding hiding = ParseProcfsHiding(c.line, "/proc");
    EXPECT_TRUE(hiding.found) << c.line;
    EXPECT_EQ(hiding.hidepid, c.hidepid) << c.line;
    EXPECT_EQ(hiding.hides_processes, c.hides) << c.line;
    EXPECT_EQ(hiding.denies_access, c.denies) << c.line;
    EXPECT_EQ(hiding.subset, c.subset) << c.line;
  }
  // The service's own /proc is mounted over the host's: the last line at the point counts.
  ProcfsHiding top = ParseProcfsHiding(
      "22 27 0:21 / /proc rw - proc proc rw\n"
      "1197 1180 0:93 / /proc rw - proc proc rw,hidepid=invisible\n",
      "/proc");
  EXPECT_TRUE(top.hides_processes);
}

TEST(ParseProcfsHiding, RejectsOtherMountsAndPoints) {
  const std::string_view kReject[] = {
      "",
      "27 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,hidepid=2",
      // Another procfs (a container's, bound elsewhere) is not the one walked.
      "30 27 0:50 / /host/proc rw - proc proc rw,hidepid=invisible",
      "22 27 0:21 / /proc rw - sysfs sysfs rw,hidepid=2",
      "22 27 0:21 / /proc rw - proc",
      "garbage",
  };
  for (std::string_view text : kReject) {
    ProcfsHiding hiding = ParseProcfsHiding(text, "/proc");
    EXPECT_FALSE(hiding.found) << text;
    EXPECT_FALSE(hiding.hides_processes) << text;
  }
  EXPECT_TRUE(ParseProcfsHiding("30 27 0:50 / /host/proc rw - proc proc rw,hidepid=2", "/host/proc")
                  .hides_processes);
}

TEST(ParseCgroup, AcceptsEveryKnownLayout) {
  const std::string uid = "7a1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
  const std::string uid_ = "7a1f2c3d_4e5f_4a6b_8c7d_9e0f1a2b3c4d";
  const std::vector<std::pair<std::string, ContainerRef>> cases = {
      // kubelet systemd driver, containerd, cgroup v2, burstable
      {"0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uid_ +
           ".slice/cri-containerd-" + kId64a + ".scope\n",
       {uid, kId64a}},
      // besteffort
      {"0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uid_ +
           ".slice/cri-containerd-" + kId64a + ".scope\n",
       {uid, kId64a}},
      // guaranteed (no QoS slice), CRI-O
      {"0::/kubepods.slice/kubepods-pod" + uid_ + ".slice/crio-" + kId64a + ".scope\n",
       {uid, kId64a}},
      // CRI-O with an init sub-cgroup below the scope
      {"0::/kubepods.slice/kubepods-pod" + uid_ + ".slice/crio-" + kId64a + ".scope/container\n",
       {uid, kId64a}},
      // Docker under the systemd driver
      {"0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uid_ +
           ".slice/docker-" + kId64a + ".scope\n",
       {uid, kId64a}},
      // kubelet cgroupfs driver, v1 hierarchies
      {"12:pids:/kubepods/besteffort/pod" + uid + "/" + kId64a + "\n1:name=systemd:/kubepods/" +
           "besteffort/pod" + uid + "/" + kId64a + "\n0::/\n",
       {uid, kId64a}},
      // cgroupfs, guaranteed
      {"0::/kubepods/pod" + uid + "/" + kId64a + "\n", {uid, kId64a}},
      // cgroupfs, CRI-O
      {"0::/kubepods/burstable/pod" + uid + "/crio-" + kId64a + "\n", {uid, kId64a}},
      // the pod's own cgroup, no container
      {"0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uid_ + ".slice\n",
       {uid, ""}},
      // static pod: the UID is a 32-hex config hash
      {"0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" +
           std::string(32, 'e') + ".slice/cri-containerd-" + kId64b + ".scope\n",
       {std::string(32, 'e'), kId64b}},
      // seen from inside a cgroup namespace
      {"0::/../../kubepods-besteffort-pod" + uid_ + ".slice/cri-containerd-" + kId64a + ".scope\n",
       {uid, kId64a}},
      // plain Docker: systemd and cgroupfs drivers
      {"0::/system.slice/docker-" + kId64a + ".scope\n", {"", kId64a}},
      {"4:memory:/docker/" + kId64a + "\n0::/\n", {"", kId64a}},
      // containerd without Kubernetes (namespace "default")
      {"0::/default/" + kId64a + "\n", {"", kId64a}},
      // podman
      {"0::/machine.slice/libpod-" + kId64a + ".scope/container\n", {"", kId64a}},
      // the line that names a pod wins over an earlier one naming only a container
      {"4:memory:/docker/" + kId64b + "\n0::/kubepods/pod" + uid + "/" + kId64a + "\n",
       {uid, kId64a}},
  };
  for (const auto& [cgroup, want] : cases) {
    EXPECT_EQ(ParseCgroup(cgroup), want) << cgroup;
  }
}

TEST(ParseCgroup, RejectsWhatIsNotAPodOrContainer) {
  for (const std::string& cgroup : std::vector<std::string>{
           "",
           "0::/\n",
           "0::/init.scope\n",
           "0::/user.slice/user-1000.slice/session-3.scope\n",
           "0::/system.slice/nf-conntrack-exporter.service\n",
           // conmon is CRI-O's monitor, not the container
           "0::/system.slice/crio-conmon-" + kId64a + ".scope\n",
           // 63 and 65 hex digits, upper case
           "0::/docker/" + std::string(63, 'a') + "\n",
           "0::/docker/" + std::string(65, 'a') + "\n",
           "0::/docker/" + std::string(64, 'A') + "\n",
           // a pod UID that is not one
           "0::/kubepods.slice/kubepods-podnot_a_uid.slice\n",
           "0::/kubepods.slice/kubepods-pod7a1f2c3d_4e5f_4a6b_8c7d_9e0f1a2b3c4.slice\n",
           // "pod<uid>" outside kubepods is not a pod
           "0::/other/pod7a1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\n",
           // no path separator
           "garbage\n",
           "0:\n",
       }) {
    EXPECT_EQ(ParseCgroup(cgroup), ContainerRef{}) << cgroup;
  }
}

}  // namespace
}  // namespace nfct
