// The gather step of `nf_conntrack_exporter doctor`: runs the sysctl and stat collectors around
// a sampling window, reads the kernel log's backlog with the kmsg collector's sources (the
// first of /dev/kmsg, journald or a syslog file that can be read) and dumps the table
// once with the table collector's dumper, into Facts. No HTTP server, nothing written anywhere.
// Called once by the doctor command on its own thread; the seams let tests use fixture roots.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "collectors/collector.h"
#include "collectors/env.h"
#include "collectors/kmsg/kmsg_source.h"
#include "collectors/netns/netns_walk.h"
#include "collectors/table/table_dumper.h"
#include "exporter/doctor/doctor_facts.h"

namespace nfct::doctor {

struct NetnsIdentity {
  std::optional<uint64_t> inode;  // of /proc/self/ns/net
  bool initial = true;            // nf_conntrack_buckets is writable only in the initial netns
};

// A kernel-log source to try, by the name the report gives it.
struct NamedLogSource {
  std::string name;  // "/dev/kmsg", "journald", "/var/log/kern.log"
  std::unique_ptr<LogSource> source;
};

// Tried in this order when --collector.kmsg.source is not given: the device (needs CAP_SYSLOG
// under kernel.dmesg_restrict=1), then what a user in group adm or systemd-journal may read.
inline constexpr std::string_view kDefaultLogSources[] = {
    "/dev/kmsg", "journald", "/var/log/kern.log", "/var/log/messages", "/var/log/syslog"};

// Who the full table refused during the window (collectors/refused): Begin() loads the BPF
// program before the window, End() reads its maps after it. LiveRefused() is the collector's own
// loader, decoder and summary; tests pass a fixture. Called on the gather thread only.
class RefusedWatch {
 public:
  virtual ~RefusedWatch() = default;
  // Ok, or Unavailable naming what is missing (CAP_BPF, CAP_PERFMON, kernel BTF).
  virtual Status Begin() = 0;
  struct Result {
    Status status = Status::Ok();
    std::vector<RefusedFlow> flows;  // every key, in any order
  };
  virtual Result End() = 0;
};
// The refused collector with its default options, reading this machine through `env`.
std::unique_ptr<RefusedWatch> LiveRefused(const Env& env);

struct GatherInputs {
  Env env;
  std::chrono::milliseconds window{5000};
  size_t top_ports = 5;
  uint16_t scrape_port = 9725;         // the exporter's listen port, whose tracking is checked
  std::vector<NamedLogSource> logs;    // the first that opens is read; empty: not read
  std::unique_ptr<TableSource> table;  // dumps the table; null: not dumped
  // Sleeps; tests replace it to change the fixture between the two readings.
  std::function<void(std::chrono::milliseconds)> sleep;
  std::function<NetnsIdentity()> identity;
  // Every namespace on the host, fullest first; empty function: not available. Asked only in
  // the initial netns.
  std::function<std::optional<std::vector<NamespaceUsage>>()> namespaces;
  bool walk_namespaces = false;  // without `namespaces`: walk them with the netns walker
  // How that walk reads namespaces no process holds; null: setns() (MakeSetnsEnterer).
  std::unique_ptr<NetnsEnterer> netns_enterer;
  std::unique_ptr<RefusedWatch> refused;  // null: not watched (--no-refused)
};

// The inputs that read this machine: the kernel log, netlink, the real clock and netns.
// `log_source`: a --collector.kmsg.source value, or "" for kDefaultLogSources. `error` is set
// when the value is invalid.
GatherInputs LiveInputs(Env env, std::chrono::milliseconds window, size_t top_ports,
                        const std::string& log_source, std::string& error);

Facts Gather(GatherInputs inputs);

// The object size of a slab cache in /proc/slabinfo ("nf_conntrack 64 128 256 16 1 : ..." →
// 256), or nullopt. Pure.
std::optional<uint64_t> SlabObjectSize(std::string_view slabinfo, std::string_view cache);
// The sockets of one local TCP port in /proc/net/tcp or tcp6 text:
//   "   0: 0100007F:2601 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0 ..."
// (local address:port in hex, then the remote one, then the state: 01 established, 0A listen).
// The same format on every kernel since 2.6. Pure.
// A client of the port: its address (IPv4 as v4-mapped IPv6, as tcp6 lists it) and port.
struct Endpoint {
  std::array<uint8_t, 16> address{};
  uint16_t port = 0;
  auto operator<=>(const Endpoint&) const = default;
};
struct PortSockets {
  bool listening = false;
  uint64_t established = 0;
  std::vector<Endpoint> clients;  // the remote end of each established connection
};
PortSockets SocketsOnPort(std::string_view proc_net_tcp, uint16_t port);

// The client of a TCP entry to `port`, from one /proc/net/nf_conntrack line (the original
// direction's src and sport), or nullopt. Pure. A line as 6.18 prints it:
//   "ipv4     2 tcp      6 431999 ESTABLISHED src=198.51.100.2 dst=198.51.100.1 sport=40000
//    dport=9725 src=198.51.100.1 dst=198.51.100.2 sport=9725 dport=40000 [ASSURED] mark=0 ..."
std::optional<Endpoint> ScrapeClientOf(std::string_view nf_conntrack_line, uint16_t port);

// MemTotal of /proc/meminfo in bytes ("MemTotal:       24683548 kB"), or nullopt. Pure.
std::optional<uint64_t> MemTotalBytes(std::string_view meminfo);

}  // namespace nfct::doctor
