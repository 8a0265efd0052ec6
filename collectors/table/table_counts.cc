#include "collectors/table/table_counts.h"

#include <netinet/in.h>

#include <algorithm>
#include <numeric>

namespace nfct {
namespace {

// Kernel order (enum tcp_conntrack, include/uapi/linux/netfilter/nf_conntrack_tcp.h).
constexpr std::array<std::string_view, kTableStates> kTcpStates = {
    "none",       "syn_sent", "syn_recv",  "established", "fin_wait",
    "close_wait", "last_ack", "time_wait", "close",       "syn_sent2"};
constexpr std::array<std::string_view, 3> kFlowStates = {"assured", "replied", "unreplied"};
constexpr std::array<std::string_view, kTableProtocols> kProtocols = {
    "tcp", "udp", "icmp", "icmpv6", "sctp", "gre", "dccp", "other"};
constexpr std::array<TableProtocol, kPortProtocols> kPortProtocolOf = {kTcp, kUdp, kSctp, kDccp};

}  // namespace

TableProtocol ProtocolFromNumber(uint8_t number) {
  switch (number) {
    case IPPROTO_TCP:
      return kTcp;
    case IPPROTO_UDP:
      return kUdp;
    case IPPROTO_ICMP:
      return kIcmp;
    case IPPROTO_ICMPV6:
      return kIcmpv6;
    case IPPROTO_SCTP:
      return kSctp;
    case IPPROTO_GRE:
      return kGre;
    case IPPROTO_DCCP:
      return kDccp;
    default:
      return kOtherProtocol;
  }
}

std::string_view FamilyLabel(size_t family) { return family == kIpv4 ? "ipv4" : "ipv6"; }

std::string_view ProtocolLabel(size_t protocol) {
  return protocol < kProtocols.size() ? kProtocols[protocol] : "other";
}

std::string_view StateLabel(size_t protocol, size_t state) {
  if (protocol == kTcp) return state < kTcpStates.size() ? kTcpStates[state] : "";
  return state < kFlowStates.size() ? kFlowStates[state] : "";
}

size_t StateCount(size_t protocol) {
  return protocol == kTcp ? kTcpStates.size() : kFlowStates.size();
}

int PortSlot(size_t protocol) {
  switch (protocol) {
    case kTcp:
      return 0;
    case kUdp:
      return 1;
    case kSctp:
      return 2;
    case kDccp:
      return 3;
    default:
      return -1;
  }
}

TableProtocol PortSlotProtocol(size_t slot) { return kPortProtocolOf[slot]; }

void TableCounts::Reset() {
  entries_.fill(0);
  ports_.assign(kPortProtocols * kPorts, 0u);
}

void TableCounts::Release() { std::vector<uint32_t>().swap(ports_); }

uint64_t TableCounts::Total() const {
  return std::accumulate(entries_.begin(), entries_.end(), uint64_t{0});
}

TopPorts TableCounts::Top(size_t slot, size_t k) const {
  // A min-heap of the best k so far: one pass over 65536 counters, no allocation beyond k.
  auto better = [](const PortCount& a, const PortCount& b) {
    return a.count != b.count ? a.count > b.count : a.port < b.port;
  };
  TopPorts result;
  if (ports_.empty()) return result;  // released: nothing counted since
  result.top.reserve(k);
  uint64_t total = 0;
  const uint32_t* counts = &ports_[slot * kPorts];
  for (size_t port = 0; port < kPorts; ++port) {
    if (counts[port] == 0) continue;
    total += counts[port];
    if (k == 0) continue;
    PortCount candidate{static_cast<uint16_t>(port), counts[port]};
    if (result.top.size() < k) {
      result.top.push_back(candidate);
      std::push_heap(result.top.begin(), result.top.end(), better);
    } else if (better(candidate, result.top.front())) {
      std::pop_heap(result.top.begin(), result.top.end(), better);
      result.top.back() = candidate;
      std::push_heap(result.top.begin(), result.top.end(), better);
    }
  }
  std::sort(result.top.begin(), result.top.end(), better);
  uint64_t top_sum = 0;
  for (const auto& entry : result.top) top_sum += entry.count;
  result.other = total - top_sum;
  return result;
}

}  // namespace nfct
