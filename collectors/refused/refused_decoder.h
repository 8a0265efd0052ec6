// The refused collector's pure half: the bytes of its BPF maps (layout in refused_abi.h) into
// plain structs, and those into the bounded series it exports (the top N keys, the rest summed
// as port="other" per netns and protocol). Called by refused_collector.cc and the fuzzer; no I/O,
// no prometheus types, no shared state: thread safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nfct {

inline constexpr size_t kRefusedKeySize = 8;       // struct nfct_refused_key
inline constexpr size_t kRefusedHistorySize = 16;  // struct nfct_refused_history
inline constexpr size_t kRefusedStatCount = 4;     // enum nfct_refused_stat

struct RefusedKey {
  uint32_t netns = 0;
  uint16_t port = 0;
  uint8_t protocol = 0;
  uint8_t family = 0;
  bool operator==(const RefusedKey&) const = default;
};

struct RefusedCount {
  RefusedKey key;
  uint64_t packets = 0;
};

struct NetnsPackets {
  uint32_t netns = 0;
  uint64_t packets = 0;
};

// The global per-CPU counters of map "stats", summed over CPUs, in enum nfct_refused_stat order.
struct RefusedStats {
  uint64_t lost = 0;        // refused while both maps were full: exported as netns="other"
  uint64_t no_history = 0;  // conntrack drops seen first on a CPU in a netns: not classified
  uint64_t ambiguous = 0;   // drop moved with invalid/insert_failed: not classified
  uint64_t netfilter_drops = 0;
};

// Map "refused": `keys` and `values` are n records of kRefusedKeySize and 8 bytes, as the loader
// read them. nullopt when the sizes do not pair up.
std::optional<std::vector<RefusedCount>> DecodeRefused(std::string_view keys,
                                                       std::string_view values);
// Map "overflow": n u32 keys and n u64 values.
std::optional<std::vector<NetnsPackets>> DecodeOverflow(std::string_view keys,
                                                        std::string_view values);
// Map "stats": per index, `cpus` u64 values (one per possible CPU), summed.
std::optional<RefusedStats> DecodeStats(std::string_view values, size_t cpus);

// One value of map "history" for user space to seed it: per possible CPU, that CPU's drop,
// invalid and insert_failed of one netns (a row of its /proc/<pid>/net/stat/nf_conntrack).
struct CpuCounters {
  uint32_t drop = 0, invalid = 0, insert_failed = 0;
};
std::string EncodeHistory(const std::vector<CpuCounters>& per_cpu);

// "tcp", "udp", "sctp", "dccp", "udplite", "icmp", "icmpv6", "gre", else the number.
std::string ProtocolName(uint8_t protocol);
// Whether the protocol's original destination port is a label (tcp, udp, sctp, dccp, udplite).
bool ProtocolHasPorts(uint8_t protocol);

// One exported series before the netns labels are joined. netns 0 = "other" (lost packets).
struct RefusedSeries {
  uint32_t netns = 0;
  std::string protocol;  // "" for the overflow and lost series
  std::string port;      // number, "" for portless protocols, "other" for the rest
  uint64_t packets = 0;
};
// The `top` keys with the most packets keep their series (ties by key, so the choice is stable);
// the rest, the overflow map and the lost count are summed into port="other" per netns (and
// protocol where known). Every packet is in exactly one series: the sums are preserved.
// Sorted by netns, protocol, port.
std::vector<RefusedSeries> SummariseRefused(std::vector<RefusedCount> refused,
                                            const std::vector<NetnsPackets>& overflow,
                                            uint64_t lost, size_t top);

}  // namespace nfct
