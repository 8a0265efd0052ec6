// The exporter is read-only, proven: in a netns of the test's own filled with entries of several
// families, protocols and states (timeouts of an hour, so none expires), the real exporter with
// every collector on is scraped over HTTP for 25 s, and `doctor` runs in text and JSON. Then no
// entry changed or vanished (a full `conntrack -L` before and after, timeouts aside, and no
// timeout went up), the netns counted no insert or delete, and no sysctl under
// /proc/sys/net/netfilter changed, in the netns or on the host. Root (label kernel).
#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "collectors/env.h"
#include "tests/support/netns_fixture.h"

namespace nfct::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kNetfilterSysctls = "/proc/sys/net/netfilter";

// Every readable file under /proc/sys/net/netfilter of the calling thread's netns, by name.
std::map<std::string, std::string> Sysctls() {
  std::map<std::string, std::string> values;
  DIR* dir = opendir(kNetfilterSysctls);
  if (dir == nullptr) return values;
  while (const dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    FileRead read = ReadFile(std::string(kNetfilterSysctls) + "/" + name, 1 << 16);
    if (read.ok()) values[name] = read.data;
  }
  closedir(dir);
  return values;
}

// `conntrack -L` keyed by the entry with its timeout (the third field) taken out; the value
// is the timeout.
std::multimap<std::string, long> Entries(const TestNetns& ns) {
  CommandResult listed = ns.Run({"conntrack", "-L"});
  EXPECT_EQ(listed.exit_code, 0);
  std::multimap<std::string, long> entries;
  std::istringstream lines(listed.out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string proto, number, timeout, rest;
    fields >> proto >> number >> timeout;
    std::getline(fields, rest);
    entries.emplace(proto + " " + number + rest, std::stol(timeout));
  }
  return entries;
}

std::vector<std::string> Changed(const std::map<std::string, std::string>& before,
                                 const std::map<std::string, std::string>& after) {
  std::vector<std::string> changed;
  for (const auto& [name, value] : before) {
    auto it = after.find(name);
    if (it == after.end() || it->second != value) changed.push_back(name);
  }
  for (const auto& [name, value] : after) {
    if (!before.contains(name)) changed.push_back(name);
  }
  return changed;
}

TEST(ReadOnly, EveryCollectorAndDoctorLeaveTheTableAndSysctlsAlone) {
  SKIP_UNLESS_KERNEL();
  TestNetns ns("readonly");
  // 1,000 entries: IPv4 and IPv6, TCP in five states, UDP assured and unreplied, ICMP.
  const std::vector<std::vector<std::string>> batches = {
      {"--count=300", "--proto=tcp", "--state=established", "--dports=5"},
      {"--count=100", "--proto=tcp", "--state=time_wait", "--src-offset=1000"},
      {"--count=100", "--proto=tcp", "--state=syn_sent", "--src-offset=2000"},
      {"--count=50", "--proto=tcp", "--state=fin_wait", "--src-offset=3000"},
      {"--count=50", "--proto=tcp", "--state=close_wait", "--src-offset=4000"},
      {"--count=150", "--proto=udp", "--status=assured", "--dports=3", "--src-offset=5000"},
      {"--count=100", "--proto=udp", "--status=unreplied", "--src-offset=6000"},
      {"--count=50", "--proto=icmp", "--src-offset=7000"},
      {"--count=60", "--family=ipv6", "--proto=tcp", "--state=established", "--src-offset=8000"},
      {"--count=40", "--family=ipv6", "--proto=udp", "--src-offset=9000"},
  };
  for (auto flags : batches) {
    flags.push_back("--timeout=3600");
    ASSERT_EQ(ns.CreateEntries(flags).exit_code, 0);
  }
  const auto netns_sysctls = ns.Within(Sysctls);
  const auto host_sysctls = Sysctls();
  const auto entries = Entries(ns);
  ASSERT_EQ(entries.size(), 1000u);
  const uint64_t inserts = KernelStatSum(ns, "insert");
  const uint64_t deletes = KernelStatSum(ns, "delete");

  {
    ExporterProcess exporter(ns,
                             {"--collector.table.interval=1s", "--collector.table.max-entries=0",
                              "--collector.netns.interval=1s"});
    ASSERT_TRUE(exporter.running()) << exporter.Stderr();
    std::string text;
    for (auto end = std::chrono::steady_clock::now() + 25s; std::chrono::steady_clock::now() < end;
         std::this_thread::sleep_for(200ms)) {
      text = exporter.Scrape();
    }
    // The proof is only worth something if every collector read its source.
    for (std::string collector : {"sysctl", "stat", "kmsg", "table", "netns"}) {
      EXPECT_EQ(MetricValue(
                    text, "nf_conntrack_scrape_collector_success{collector=\"" + collector + "\"}"),
                1)
          << collector << "\n"
          << exporter.Stderr();
    }
    EXPECT_EQ(MetricValue(text, "nf_conntrack_table_dump_entries"), 1000) << text;
    EXPECT_EQ(exporter.Terminate(), 0);
  }
  for (std::string output : {"text", "json"}) {
    CommandResult doctor =
        ns.Run({NFCT_EXPORTER_PATH, "doctor", "--window=2s", "--output=" + output});
    EXPECT_TRUE(doctor.exit_code >= 0 && doctor.exit_code <= 2) << doctor.exit_code;
    EXPECT_FALSE(doctor.out.empty());
  }

  const auto after = Entries(ns);
  std::vector<std::string> vanished, appeared, refreshed;
  for (const auto& [entry, timeout] : entries) {
    auto it = after.find(entry);
    if (it == after.end()) {
      vanished.push_back(entry);
    } else if (it->second > timeout) {
      refreshed.push_back(entry);
    }
  }
  for (const auto& [entry, timeout] : after) {
    if (!entries.contains(entry)) appeared.push_back(entry);
  }
  EXPECT_EQ(after.size(), entries.size());
  EXPECT_TRUE(vanished.empty()) << vanished.size() << " vanished or changed, e.g. "
                                << vanished.front();
  EXPECT_TRUE(appeared.empty()) << appeared.size() << " appeared or changed, e.g. "
                                << appeared.front();
  EXPECT_TRUE(refreshed.empty()) << refreshed.size() << " had their timeout raised, e.g. "
                                 << refreshed.front();
  EXPECT_EQ(KernelStatSum(ns, "insert"), inserts);
  EXPECT_EQ(KernelStatSum(ns, "delete"), deletes);
  EXPECT_EQ(Changed(netns_sysctls, ns.Within(Sysctls)), std::vector<std::string>{});
  // The host's own count moves with the host's traffic; everything else must not.
  auto host_after = Sysctls();
  auto host_changed = Changed(host_sysctls, host_after);
  std::erase(host_changed, "nf_conntrack_count");
  EXPECT_EQ(host_changed, std::vector<std::string>{});
}

}  // namespace
}  // namespace nfct::testing
