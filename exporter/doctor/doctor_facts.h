// What `nf_conntrack_exporter doctor` measured, as plain data: the gather step fills it from the
// collectors' readers, Diagnose() judges it and the renderers print it. No I/O, no prometheus
// types; a value the doctor could not read is an empty optional. Plain data: no thread safety.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nfct::doctor {

// A source the doctor could not read, and what would let it.
struct Unseen {
  std::string what;  // "the table breakdown"
  std::string need;  // "CAP_NET_ADMIN"
  std::string why;   // the reader's own reason, for --output=json
  bool operator==(const Unseen&) const = default;
};

// The "table full" lines of the kernel log for one netns.
struct TableFullLine {
  std::optional<double> wall_seconds;   // when the latest was logged, seconds since the epoch
  std::optional<double> first_seconds;  // when the earliest in the ring buffer was logged
  std::optional<uint64_t> netns;        // "table full in netns N" (kernels 6.17+)
  uint64_t lines = 1;
  bool operator==(const TableFullLine&) const = default;
};

// A kernel-log source the doctor could not read, and why.
struct LogAttempt {
  std::string source;  // "/dev/kmsg", "journald", "/var/log/kern.log"
  std::string why;
  bool operator==(const LogAttempt&) const = default;
};

struct PortEntries {
  std::string protocol;  // "tcp", "udp", "sctp", "dccp"
  uint16_t port = 0;
  uint64_t entries = 0;
  bool operator==(const PortEntries&) const = default;
};

// The exporter's scrape port in this netns: its sockets (/proc/net/tcp, tcp6) and its conntrack
// entries (the dump), from which the doctor tells whether scrapes take an entry.
struct ScrapePort {
  uint16_t port = 9725;
  bool sockets_read = false;        // /proc/net/tcp or tcp6 could be read
  bool listening = false;           // a socket listens on it
  uint64_t established = 0;         // established connections to it
  std::optional<uint64_t> entries;  // TCP entries to the port in the dump; none: not dumped
  // Established connections whose client has an entry to the port (/proc/net/nf_conntrack,
  // root only, CONFIG_NF_CONNTRACK_PROCFS); none: not read. Exact where `entries` is not:
  // an entry made before a notrack rule lingers after its connection closed.
  std::optional<uint64_t> tracked_connections;
  bool operator==(const ScrapePort&) const = default;
};

// One network namespace as the netns walker saw it (from the initial netns only).
struct NamespaceUsage {
  uint64_t inode = 0;
  std::string name;  // "/run/netns/NAME" or "pid 1234", whatever identifies it best
  uint64_t entries = 0;
  std::optional<uint64_t> drops;  // the drop counter summed over CPUs, when read
  bool operator==(const NamespaceUsage&) const = default;
};

// One (netns, protocol, port) key the full table refused during the window, as the refused
// collector (collectors/refused) counts it: its BPF program, loaded for the window only.
struct RefusedFlow {
  std::string netns;       // the inode, or "other" for packets the BPF maps had no room for
  std::string netns_name;  // /run/netns name, "pod <uid>" or "", from the netns walk
  std::string protocol;    // "udp", "tcp", ...; "" for the overflow
  std::string port;        // "53"; "" for portless protocols; "other" for the rest
  uint64_t packets = 0;
  bool operator==(const RefusedFlow&) const = default;
};

struct Facts {
  double now_seconds = 0;  // wall clock when gathering ended
  double window_seconds = 0;

  // Kernel and machine.
  std::string kernel_release;              // "6.18.44-fc-v1045"
  int kernel_major = 0, kernel_minor = 0;  // 0.0 when unknown
  std::optional<uint64_t> mem_total_bytes;

  // This network namespace.
  std::optional<uint64_t> netns_inode;
  bool initial_netns = true;  // the global sysctls are writable only there

  // Sizing (sysctl collector). No module: nothing else is meaningful.
  bool module_loaded = false;
  std::optional<uint64_t> entries;       // nf_conntrack_count at the end
  std::optional<uint64_t> peak_entries;  // the highest count seen while gathering
  std::optional<uint64_t> max;           // nf_conntrack_max; 0 = unlimited
  std::optional<uint64_t> buckets;
  std::optional<uint64_t> time_wait_timeout;
  std::optional<uint64_t> entry_bytes;  // slab object size of nf_conn, when readable
  bool entry_bytes_measured = false;    // false: entry_bytes is the documented estimate
  std::optional<bool> module_builtin;   // nf_conntrack is not in /proc/modules

  // Per-CPU counters (stat collector): since the netns was created, and over the window.
  std::map<std::string, uint64_t> since_boot;  // by counter name: "drop", "early_drop", ...
  std::map<std::string, uint64_t> in_window;

  // Kernel log: table-full lines in the backlog of the first source that could be read (the
  // ring buffer, the journal, the end of a syslog file), by netns, latest first.
  bool log_read = false;
  std::string log_source;                 // the source read, "" when none
  std::vector<LogAttempt> log_refused;    // sources tried before it (all of them when none)
  std::vector<TableFullLine> table_full;  // the netns with the latest lines, a few
  uint64_t table_full_total = 0;          // all of them in the backlog

  // Table dump.
  bool table_read = false;
  uint64_t table_entries = 0;
  std::map<std::string, uint64_t> tcp_states;  // "time_wait" → entries (IPv4 + IPv6)
  std::vector<PortEntries> top_ports;          // busiest first, over every protocol

  ScrapePort scrape_port;

  // Every namespace (netns walker, initial netns only).
  bool namespaces_read = false;
  std::vector<NamespaceUsage> namespaces;  // fullest first

  // Who was refused during the window (BPF; needs CAP_BPF + CAP_PERFMON and kernel BTF).
  bool refused_watched = false;      // the program was loaded for the window and read after it
  std::vector<RefusedFlow> refused;  // the keys with most packets first, at most --top-ports
  uint64_t refused_total = 0;        // every refused packet of the window, listed or not
  uint64_t refused_keys = 0;         // how many keys that total came from

  std::vector<Unseen> unseen;
};

}  // namespace nfct::doctor
