// The kmsg collector against the real kernel: real table-full drops in a netns of the test's own
// are counted for that netns's inode, lines written into /dev/kmsg from userspace are not, a
// restarted exporter does not count old lines again, and without CAP_SYSLOG the collector is
// Unavailable while the rest is served. Other tests log table-full lines concurrently, and the
// kernel's limiter is global: everything here is matched on this test's own netns inode, and an
// independent /dev/kmsg reader tells lines the kernel suppressed from lines the exporter missed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <thread>

#include "collectors/env.h"
#include "collectors/kmsg/kmsg_device.h"
#include "collectors/kmsg/kmsg_match.h"
#include "tests/support/netns_fixture.h"

namespace nfct::testing {
namespace {

using namespace std::chrono_literals;

#define SKIP_UNLESS_KMSG_KERNEL() \
  if (auto why = KmsgKernelSkipReason(); !why.empty()) GTEST_SKIP() << why

std::string KmsgKernelSkipReason() {
  if (auto why = KernelSkipReason(); !why.empty()) return why;
  if (access("/dev/kmsg", R_OK | W_OK) != 0) return "needs read and write access to /dev/kmsg";
  FileRead release = ReadFile("/proc/sys/kernel/osrelease");
  auto version = ParseKernelRelease(release.data);
  if (!version || *version < KernelVersion{6, 17}) {
    return "needs kernel 6.17 or later: older kernels do not say which netns a line is from, "
           "so this test could not tell its lines from other tests' (running " +
           release.data + ")";
  }
  return "";
}

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

// What the kernel really logged since this reader was opened, for one netns inode: the ground
// truth the exporter is compared with.
class TruthReader {
 public:
  explicit TruthReader(std::string inode) : inode_(std::move(inode)) {
    KmsgOpen open = RealKmsgOpener("/dev/kmsg")(true);
    if (!open.file) throw std::runtime_error("cannot open /dev/kmsg");
    file_ = std::move(open.file);
  }
  void Drain() {
    char buffer[16384];
    for (;;) {
      KmsgRead read = file_->Read(buffer, sizeof buffer);
      if (read.bytes < 0 && read.error == EPIPE) {
        ++overruns;
        continue;
      }
      if (read.bytes <= 0) return;
      KmsgParse parse = ParseKmsgRecord({buffer, static_cast<size_t>(read.bytes)});
      if (!parse.ok()) continue;
      LogMatch match = MatchKernelMessage(parse.record.text);
      bool kernel = parse.record.facility() == 0;
      bool mine = match.netns && std::to_string(*match.netns) == inode_;
      if (match.event == LogEvent::kTableFull && mine) ++(kernel ? mine_kernel : mine_spoofed);
      if (match.event == LogEvent::kTableFull && !match.netns)
        ++(kernel ? init_kernel : init_spoofed);
      if (match.event == LogEvent::kSuppressed && kernel) suppressed += match.suppressed;
    }
  }

  int mine_kernel = 0, mine_spoofed = 0, init_kernel = 0, init_spoofed = 0, overruns = 0;
  uint64_t suppressed = 0;

 private:
  std::string inode_;
  std::unique_ptr<KmsgFile> file_;
};

void WriteKmsg(const std::string& line) {
  int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_EQ(write(fd, line.data(), line.size()), static_cast<ssize_t>(line.size()));
  close(fd);
}

std::string Series(std::string_view netns) {
  return "nf_conntrack_kernel_log_messages_total{message=\"table_full\",netns=\"" +
         std::string(netns) + "\"}";
}

const std::vector<std::string> kKmsgOnly = {"--collector.disable-defaults", "--collector.kmsg"};

bool Ready(const ExporterProcess& exporter) {
  return MetricValue(exporter.Scrape(),
                     R"(nf_conntrack_scrape_collector_success{collector="kmsg"})") == 1;
}

TEST(KmsgKernel, RealTableFullLinesCountForThisNetnsAndSpoofedOnesDoNot) {
  SKIP_UNLESS_KMSG_KERNEL();
  TestNetns ns("kmsg");
  const std::string inode = std::to_string(ns.inode());
  ExporterProcess exporter(ns, kKmsgOnly);
  ASSERT_TRUE(exporter.running()) << exporter.Stderr();
  // Ready = /dev/kmsg is open at its end: from here on every line is "after start".
  ASSERT_TRUE(WaitFor([&] { return Ready(exporter); }, 10s)) << exporter.Stderr();
  const double init_before = MetricValue(exporter.Scrape(), Series("init")).value_or(0);
  TruthReader truth(inode);

  // root can write the kernel's words into /dev/kmsg; they arrive with facility 1.
  WriteKmsg("<4>nf_conntrack: nf_conntrack: table full in netns " + inode + ", dropping packet\n");
  WriteKmsg("<4>nf_conntrack: nf_conntrack: table full, dropping packet\n");

  ASSERT_GT(ns.FillToMax(), 0);
  const double sent_at =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  // The limiter lets 10 network messages through per 5 s for the whole host, and other tests
  // may be using them: keep making drops for a few windows until one of ours gets a line.
  int eperm = 0;
  for (int round = 0; round < 80 && truth.mine_kernel == 0; ++round) {
    eperm += ns.SendUdpFlows(20, 20000 + 20 * round).eperm;
    std::this_thread::sleep_for(500ms);
    truth.Drain();
  }
  ASSERT_GT(eperm, 0) << "no packet was dropped: the table did not fill";
  std::this_thread::sleep_for(500ms);
  truth.Drain();
  EXPECT_EQ(truth.mine_spoofed, 1) << "the spoofed line should be in the log, as facility 1";
  EXPECT_GE(truth.init_spoofed, 1);  // a concurrent instance of this test writes one too
  if (truth.mine_kernel == 0) {
    GTEST_SKIP() << "suppressed, not missing: " << eperm << " drops in this netns, but the "
                 << "kernel's global limiter logged none of them (" << truth.suppressed
                 << " callbacks suppressed host-wide meanwhile)";
  }

  RecordProperty("kernel_lines_for_this_netns", truth.mine_kernel);
  RecordProperty("drops_in_this_netns", eperm);
  // Every line the kernel logged for this netns is counted, and nothing more.
  std::string metrics;
  bool equal = WaitFor(
      [&] {
        metrics = exporter.Scrape();
        return MetricValue(metrics, Series(inode)) == truth.mine_kernel;
      },
      5s);
  EXPECT_TRUE(equal) << "the kernel logged " << truth.mine_kernel << " lines for netns " << inode
                     << " (missing, not suppressed)\n"
                     << metrics;
  EXPECT_EQ(MetricValue(metrics, Series("init")).value_or(0) - init_before, truth.init_kernel)
      << "the spoofed initial-netns line must not count";
  EXPECT_EQ(MetricValue(metrics, "nf_conntrack_kernel_log_records_lost_total"), 0)
      << "the truth reader saw " << truth.overruns << " overruns";
  auto last = MetricValue(
      metrics, R"(nf_conntrack_kernel_log_last_message_timestamp_seconds{message="table_full"})");
  ASSERT_TRUE(last.has_value());
  EXPECT_GT(*last, sent_at - 2);
  EXPECT_LT(*last, sent_at + 60);
  WaitFor(
      [&] {
        return MetricValue(exporter.Scrape(), "nf_conntrack_kernel_log_suppressed_total") >=
               static_cast<double>(truth.suppressed);
      },
      5s);
  EXPECT_GE(MetricValue(exporter.Scrape(), "nf_conntrack_kernel_log_suppressed_total"),
            static_cast<double>(truth.suppressed));

  // Restart: the lines are still in the ring, but a new exporter must not count them again;
  // they only tell it when the message was last seen.
  ExporterProcess restarted(ns, kKmsgOnly);
  ASSERT_TRUE(restarted.running()) << restarted.Stderr();
  ASSERT_TRUE(WaitFor([&] { return Ready(restarted); }, 10s)) << restarted.Stderr();
  std::string after_restart = restarted.Scrape();
  EXPECT_FALSE(MetricValue(after_restart, Series(inode)).has_value()) << after_restart;
  auto last_restarted = MetricValue(
      after_restart,
      R"(nf_conntrack_kernel_log_last_message_timestamp_seconds{message="table_full"})");
  ASSERT_TRUE(last_restarted.has_value()) << after_restart;
  EXPECT_GE(*last_restarted, *last - 0.001);
}

TEST(KmsgKernel, SpoofedLinesInTheRealRingNeverCount) {
  SKIP_UNLESS_KMSG_KERNEL();
  TestNetns ns("kmsgspoof");  // only for an inode no other test's kernel lines can carry
  const std::string inode = std::to_string(ns.inode());
  KmsgDeviceSource source("/dev/kmsg", RealKmsgOpener("/dev/kmsg"), [] { return 0.0; });
  KmsgTally tally(true);
  ASSERT_TRUE(source.Open(tally).ok());
  TruthReader truth(inode);
  for (int level : {0, 4}) {
    WriteKmsg("<" + std::to_string(level) + ">nf_conntrack: nf_conntrack: table full in netns " +
              inode + ", dropping packet\n");
  }
  // write() to /dev/kmsg returns once the record is in the ring: one drain reads it.
  ASSERT_TRUE(source.Pump(tally).ok());
  truth.Drain();
  EXPECT_EQ(truth.mine_spoofed, 2);
  EXPECT_EQ(truth.mine_kernel, 0);
  EXPECT_FALSE(tally.snapshot().messages.contains({"table_full", inode}));
}

TEST(KmsgKernel, WithoutCapSyslogItIsUnavailableAndTheRestIsServed) {
  SKIP_UNLESS_KMSG_KERNEL();
  if (ReadFile("/proc/sys/kernel/dmesg_restrict").data != "1\n") {
    GTEST_SKIP() << "kernel.dmesg_restrict is 0 here: anyone may read /dev/kmsg";
  }
  TestNetns ns("kmsgnocap");
  ExporterProcess exporter(
      ns, {"--collector.disable-defaults", "--collector.kmsg", "--collector.sysctl"},
      {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
       "--bounding-set=-all"});
  ASSERT_TRUE(exporter.running()) << exporter.Stderr();
  // Scrapes before the reader thread has tried /dev/kmsg say "not started" (seen under TSan, which
  // slows the thread's start); wait for the line that names the refusal.
  std::string metrics;
  WaitFor(
      [&] {
        metrics = exporter.Scrape();
        return exporter.Stderr().find("CAP_SYSLOG") != std::string::npos;
      },
      5s);
  EXPECT_EQ(MetricValue(metrics, R"(nf_conntrack_scrape_collector_success{collector="kmsg"})"), 0);
  EXPECT_EQ(MetricValue(metrics, R"(nf_conntrack_scrape_collector_success{collector="sysctl"})"),
            1);
  EXPECT_EQ(MetricValue(metrics, R"(nf_conntrack_kernel_log_source_info{source="/dev/kmsg"})"), 1);
  EXPECT_FALSE(MetricValue(metrics, Series("init")).has_value()) << "no zeros from an unread log";
  EXPECT_NE(exporter.Stderr().find("CAP_SYSLOG"), std::string::npos) << exporter.Stderr();
}

}  // namespace
}  // namespace nfct::testing
