// Streaming counts of one conntrack table dump: entries by family, protocol and state, and exact
// entries per destination port for the protocols that have ports. Fixed size whatever the table
// holds (about 1 MiB, allocated once). Filled by the decoder on the dump thread; not thread safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace nfct {

inline constexpr size_t kTableFamilies = 2;   // ipv4, ipv6
inline constexpr size_t kTableProtocols = 8;  // tcp, udp, icmp, icmpv6, sctp, gre, dccp, other
inline constexpr size_t kTableStates = 10;    // TCP conntrack states 0..9; others use 0..2
inline constexpr size_t kPortProtocols = 4;   // tcp, udp, sctp, dccp
inline constexpr size_t kPorts = 65536;

enum TableFamily : uint8_t { kIpv4 = 0, kIpv6 = 1 };
enum TableProtocol : uint8_t { kTcp, kUdp, kIcmp, kIcmpv6, kSctp, kGre, kDccp, kOtherProtocol };
// The state of a flow without TCP states, from its status bits.
enum FlowState : uint8_t { kAssured = 0, kReplied = 1, kUnreplied = 2 };

// The protocol label slot of an IP protocol number (IPPROTO_*).
TableProtocol ProtocolFromNumber(uint8_t number);
// Label values. StateLabel() of a TCP state above 9 is "" (the decoder never produces one).
std::string_view FamilyLabel(size_t family);
std::string_view ProtocolLabel(size_t protocol);
std::string_view StateLabel(size_t protocol, size_t state);
// How many states a protocol has: 10 for TCP, 3 (assured, replied, unreplied) for the others.
size_t StateCount(size_t protocol);
// The by-port slot of a protocol (tcp 0, udp 1, sctp 2, dccp 3), or -1 when it has no ports.
int PortSlot(size_t protocol);
// The protocol of a by-port slot.
TableProtocol PortSlotProtocol(size_t slot);

struct PortCount {
  uint16_t port;
  uint64_t count;
  bool operator==(const PortCount&) const = default;
};

struct TopPorts {
  std::vector<PortCount> top;  // by count descending, then port ascending; at most k
  uint64_t other = 0;          // every other port summed
};

class TableCounts {
 public:
  TableCounts() : ports_(kPortProtocols * kPorts, 0) {}
  TableCounts(const TableCounts&) = delete;
  TableCounts& operator=(const TableCounts&) = delete;

  // Zeroes every count; allocates the port counts again after Release().
  void Reset();
  // Frees the port counts (1 MiB) between dumps, so an idle exporter does not hold them; the
  // next Reset() brings them back.
  void Release();
  // The hot path of the decoder: one call per entry.
  void Add(TableFamily family, TableProtocol protocol, uint8_t state, uint16_t dport) {
    ++entries_[Index(family, protocol, state)];
    if (int slot = PortSlot(protocol); slot >= 0) ++ports_[size_t(slot) * kPorts + dport];
  }

  uint64_t Entries(size_t family, size_t protocol, size_t state) const {
    return entries_[Index(family, protocol, state)];
  }
  uint64_t Total() const;
  // The k ports with most entries of a by-port slot; ties go to the lower port.
  TopPorts Top(size_t slot, size_t k) const;

 private:
  static size_t Index(size_t family, size_t protocol, size_t state) {
    return (family * kTableProtocols + protocol) * kTableStates + state;
  }

  std::array<uint64_t, kTableFamilies * kTableProtocols * kTableStates> entries_{};
  std::vector<uint32_t> ports_;  // exact: a table cannot hold 2^32 entries
};

}  // namespace nfct
