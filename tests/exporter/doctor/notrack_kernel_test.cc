// The shipped notrack rules (deploy/nftables/nf-conntrack-exporter-notrack.nft) on the real
// kernel: a server netns filled to the unchanged global nf_conntrack_max, the exporter on port
// 9725 of a veth address, a client netns on the other end. Without the file a fresh scrape gets
// no answer (its SYN is dropped, the drop counter rises) while a kept-alive one still works;
// with the file loaded the same fresh scrape answers 200; removed, it fails again. doctor in the
// server netns says "tracked" before and "untracked" after. Nothing global is changed.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <regex>
#include <string>

#include "tests/support/netns_fixture.h"

namespace nfct::testing {
namespace {

constexpr const char* kServerAddress = "198.51.100.1";  // TEST-NET-2, inside our netns only
constexpr const char* kClientAddress = "198.51.100.2";
constexpr int kScrapePort = 9725;  // the port the shipped file names
const std::string kRules =
    std::string(NFCT_SOURCE_DIR) + "/deploy/nftables/nf-conntrack-exporter-notrack.nft";

// A TCP connection from the client netns to the exporter, or -1 when the handshake did not
// complete within `timeout` (a refused entry drops the SYN: connect() just waits).
int Connect(const TestNetns& client, std::chrono::milliseconds timeout) {
  return client.Within([&] {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(kScrapePort);
    inet_pton(AF_INET, kServerAddress, &to.sin_addr);
    int rc = connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to);
    if (rc != 0 && errno != EINPROGRESS) {
      close(fd);
      return -1;
    }
    pollfd p{fd, POLLOUT, 0};
    int error = 0;
    socklen_t length = sizeof error;
    if (poll(&p, 1, static_cast<int>(timeout.count())) != 1 ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
      close(fd);
      return -1;
    }
    fcntl(fd, F_SETFL, 0);  // blocking from here, with a receive timeout
    timeval five{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &five, sizeof five);
    return fd;
  });
}

// One HTTP/1.1 request on a kept-alive connection; the status code and body, or {0, ""}.
std::pair<int, std::string> Request(int fd, const std::string& path) {
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: exporter\r\n\r\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) != ssize_t(request.size()))
    return {0, ""};
  std::string data;
  char buffer[65536];
  size_t head_end = std::string::npos, length = 0;
  while (true) {
    if (head_end == std::string::npos && (head_end = data.find("\r\n\r\n")) != std::string::npos) {
      std::smatch match;
      std::string head = data.substr(0, head_end);
      if (!std::regex_search(head, match,
                             std::regex("Content-Length: ([0-9]+)", std::regex::icase)))
        return {0, ""};
      length = std::stoul(match[1]);
    }
    if (head_end != std::string::npos && data.size() >= head_end + 4 + length) break;
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return {0, ""};
    data.append(buffer, n);
  }
  int status = data.starts_with("HTTP/1.1 ") ? std::stoi(data.substr(9, 3)) : 0;
  return {status, data.substr(head_end + 4, length)};
}

// A fresh connection, one scrape of /metrics, closed: the status, or 0 without an answer.
int FreshScrape(const TestNetns& client) {
  int fd = Connect(client, std::chrono::seconds(3));
  if (fd < 0) return 0;
  auto [status, body] = Request(fd, "/metrics");
  close(fd);
  if (status == 200 && body.find("nf_conntrack_entries ") == std::string::npos) return -1;
  return status;
}

// doctor in the server netns, as JSON; the scrape port's "tracking" and tracked connections.
struct PortReport {
  std::string tracking;
  long tracked_connections = -1;
  long established = -1;
  std::string json;
};
PortReport DoctorScrapePort(const TestNetns& server) {
  CommandResult run = server.Run({NFCT_EXPORTER_PATH, "doctor", "--window=1s", "--output=json"});
  PortReport report;
  report.json = run.out;
  std::smatch match;
  if (std::regex_search(run.out, match,
                        std::regex("\"scrape_port\": \\{\\s*\"port\": 9725,\\s*\"tracking\": "
                                   "\"([a-z]+)\",\\s*\"conntrack_entries\": [0-9a-z]+,\\s*"
                                   "\"tracked_connections\": ([0-9]+),\\s*"
                                   "\"established_connections\": ([0-9]+)"))) {
    report.tracking = match[1];
    report.tracked_connections = std::stol(match[2]);
    report.established = std::stol(match[3]);
  }
  return report;
}

TEST(NotrackKernel, AFreshScrapeOfAFullTableNeedsTheShippedRules) {
  SKIP_UNLESS_KERNEL();
  long max = ReadNumberFile("/proc/sys/net/netfilter/nf_conntrack_max");
  ASSERT_GT(max, 0) << "nf_conntrack_max = 0 (unlimited): the table cannot fill";
  TestNetns server("ntsrv");
  TestNetns client("ntcli");
  // A veth between the two namespaces: the scrape crosses a real interface, not loopback
  // (which the fixture's ruleset leaves untracked).
  ASSERT_EQ(server
                .Run({"ip", "link", "add", "nt0", "type", "veth", "peer", "name", "nt1", "netns",
                      client.name()})
                .exit_code,
            0);
  ASSERT_EQ(server.Run({"ip", "addr", "add", std::string(kServerAddress) + "/24", "dev", "nt0"})
                .exit_code,
            0);
  ASSERT_EQ(client.Run({"ip", "addr", "add", std::string(kClientAddress) + "/24", "dev", "nt1"})
                .exit_code,
            0);
  ASSERT_EQ(server.Run({"ip", "link", "set", "nt0", "up"}).exit_code, 0);
  ASSERT_EQ(client.Run({"ip", "link", "set", "nt1", "up"}).exit_code, 0);

  ExporterProcess exporter(server, {"--web.listen-address=" + std::string(kServerAddress) + ":9725",
                                    "--no-collector.kmsg"});
  ASSERT_TRUE(exporter.running()) << exporter.Stderr();

  // Prometheus's kept-alive connection, opened while the table has room.
  int kept = -1;
  for (int i = 0; i < 50 && kept < 0; ++i) {
    kept = Connect(client, std::chrono::milliseconds(200));  // the exporter may still bind
  }
  ASSERT_GE(kept, 0) << "no connection to the exporter on the veth address";
  ASSERT_EQ(Request(kept, "/-/healthy").first, 200);

  long filled = server.FillToMax();
  ASSERT_EQ(server.Count(), max) << "filled " << filled;

  // Without the rules: no answer to a fresh scrape, a drop per SYN; the kept-alive one works.
  uint64_t drops_before = KernelStatSum(server, "drop");
  EXPECT_EQ(FreshScrape(client), 0) << "a fresh scrape was answered by a full table";
  EXPECT_GT(KernelStatSum(server, "drop"), drops_before) << "the SYN was not refused by conntrack";
  auto [kept_status, kept_body] = Request(kept, "/metrics");
  EXPECT_EQ(kept_status, 200) << "the kept-alive scrape";
  EXPECT_NE(kept_body.find("nf_conntrack_entries "), std::string::npos);
  PortReport before = DoctorScrapePort(server);
  EXPECT_EQ(before.tracking, "tracked") << before.json;
  EXPECT_EQ(before.tracked_connections, 1) << before.json;

  // With the shipped file: the same fresh scrape is answered, and takes no entry.
  CommandResult load = server.Run({"nft", "-f", kRules});
  ASSERT_EQ(load.exit_code, 0) << load.out;
  uint64_t drops_loaded = KernelStatSum(server, "drop");
  EXPECT_EQ(FreshScrape(client), 200) << "the notrack rules did not let a fresh scrape through";
  EXPECT_EQ(KernelStatSum(server, "drop"), drops_loaded) << "the fresh scrape was dropped";
  EXPECT_LE(server.Count(), max);
  // Loading it again replaces the table: still one copy, still working.
  ASSERT_EQ(server.Run({"nft", "-f", kRules}).exit_code, 0);
  CommandResult tables = server.Run({"nft", "list", "tables"});
  EXPECT_EQ(std::count(tables.out.begin(), tables.out.end(), '\n'), 2) << tables.out;
  int fresh = Connect(client, std::chrono::seconds(3));
  ASSERT_GE(fresh, 0);
  EXPECT_EQ(Request(fresh, "/-/healthy").first, 200);
  // doctor sees the fresh connection without an entry: untracked, though the kept-alive one
  // still has the entry it got before the rule.
  PortReport after = DoctorScrapePort(server);
  EXPECT_EQ(after.tracking, "untracked") << after.json;
  EXPECT_EQ(after.established, 2) << after.json;
  EXPECT_EQ(after.tracked_connections, 1) << after.json;
  close(fresh);

  // Removed again: a fresh scrape fails again.
  ASSERT_EQ(server.Run({"nft", "delete", "table", "inet", "nf_conntrack_exporter"}).exit_code, 0);
  EXPECT_EQ(FreshScrape(client), 0) << "without the table a fresh scrape must fail again";
  close(kept);
  EXPECT_EQ(ReadNumberFile("/proc/sys/net/netfilter/nf_conntrack_max"), max);
}

}  // namespace
}  // namespace nfct::testing
