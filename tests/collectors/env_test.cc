// The file reader and the one errno edge every collector shares.
#include "collectors/env.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <fstream>

#include "collectors/kept_file.h"

namespace nfct {
namespace {

TEST(ReadFile, RefusesAFileOverTheLimitInsteadOfReadingItAll) {
  std::string path = ::testing::TempDir() + "nfct_big_file";
  std::ofstream(path) << std::string(2 << 20, 'x');
  FileRead read = ReadFile(path, 1 << 20);
  EXPECT_EQ(read.error, EFBIG);
  EXPECT_TRUE(read.data.empty());
  EXPECT_EQ(ReadFile(path, 4 << 20).data.size(), 2u << 20);
  std::remove(path.c_str());
}

TEST(ReadFile, ReportsTheErrnoOfAMissingFile) {
  EXPECT_EQ(ReadFile("/nonexistent/nfct").error, ENOENT);
}

TEST(KeptFile, EveryReadSeesTheCurrentContents) {
  std::string path = ::testing::TempDir() + "nfct_kept_file";
  std::remove(path.c_str());
  KeptFile file(path);
  std::string text = "left over";
  EXPECT_EQ(file.Read(text), ENOENT);
  EXPECT_TRUE(text.empty());
  std::ofstream(path) << "262144\n";
  ASSERT_EQ(file.Read(text), 0);  // opened now that it exists
  EXPECT_EQ(text, "262144\n");
  // Rewritten in place (same inode, as a sysctl): longer than the first buffer, then shorter.
  std::string big(5000, 'x');
  std::ofstream(path, std::ios::trunc) << big;
  ASSERT_EQ(file.Read(text), 0);
  EXPECT_EQ(text, big);
  std::ofstream(path, std::ios::trunc) << "7\n";
  ASSERT_EQ(file.Read(text), 0);
  EXPECT_EQ(text, "7\n");
  std::ofstream(path, std::ios::trunc) << big;
  EXPECT_EQ(file.Read(text, 4096), EFBIG);
  EXPECT_TRUE(text.empty());
  std::remove(path.c_str());
}

TEST(KeptFile, ReadsAProcfsFileWholeAgainAndAgain) {
  // A seq_file longer than the first buffer: the short-read rule must not cut it.
  KeptFile file("/proc/self/limits");
  std::string text;
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(file.Read(text), 0);
    EXPECT_EQ(text, ReadFile("/proc/self/limits").data);
  }
}

TEST(StatusFromErrno, MapsEachErrnoToOneKindOfStatus) {
  Status missing = StatusFromErrno(ENOENT, "/proc/x", "nf_conntrack is not loaded", "root");
  EXPECT_EQ(missing.code(), Status::Code::kUnavailable);
  EXPECT_EQ(missing.reason(), "nf_conntrack is not loaded (/proc/x does not exist)");
  Status denied = StatusFromErrno(EACCES, "/dev/kmsg", "", "CAP_SYSLOG");
  EXPECT_EQ(denied.code(), Status::Code::kUnavailable);
  EXPECT_EQ(denied.reason(), "permission denied reading /dev/kmsg: needs CAP_SYSLOG");
  Status big = StatusFromErrno(EFBIG, "/proc/net/stat/nf_conntrack", "", "");
  EXPECT_EQ(big.code(), Status::Code::kError);
  EXPECT_EQ(big.reason(), "reading /proc/net/stat/nf_conntrack: File too large");
}

TEST(StatusFromNetlinkErrno, MapsThroughTheSameEdge) {
  Status denied = StatusFromNetlinkErrno(EPERM, "netlink conntrack stats");
  EXPECT_EQ(denied.code(), Status::Code::kUnavailable);
  EXPECT_EQ(denied.reason(), "netlink conntrack stats need CAP_NET_ADMIN");
  Status missing = StatusFromNetlinkErrno(ENOENT, "netlink conntrack dumps");
  EXPECT_EQ(missing.code(), Status::Code::kUnavailable);
  Status other = StatusFromNetlinkErrno(ENOBUFS, "netlink conntrack dumps");
  EXPECT_EQ(other.code(), Status::Code::kError);
  EXPECT_EQ(other.reason(), "netlink conntrack dumps: No buffer space available");
}

}  // namespace
}  // namespace nfct
