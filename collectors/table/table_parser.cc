#include "collectors/table/table_parser.h"

#include <arpa/inet.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace nfct {
namespace {

// Headers are read with memcpy: recorded or fuzzed input need not be 4-byte aligned, and an
// inline walk is what keeps decoding far below the kernel's ~2 µs per entry (libmnl's walkers
// are out-of-line calls per attribute).
template <typename T>
T Load(const char* at) {
  T value;
  std::memcpy(&value, at, sizeof value);
  return value;
}

// Calls f(type, payload) for each well-formed attribute; stops at the first malformed one.
template <typename F>
void ForEachAttribute(std::string_view bytes, F&& f) {
  while (bytes.size() >= sizeof(nlattr)) {
    auto header = Load<nlattr>(bytes.data());
    if (header.nla_len < sizeof(nlattr) || header.nla_len > bytes.size()) return;
    f(header.nla_type & NLA_TYPE_MASK, bytes.substr(NLA_HDRLEN, header.nla_len - NLA_HDRLEN));
    size_t step = NLA_ALIGN(header.nla_len);
    if (step >= bytes.size()) return;
    bytes.remove_prefix(step);
  }
}

struct Entry {
  uint8_t protocol_number = 0;
  bool has_protocol = false;
  uint16_t dport = 0;
  uint8_t tcp_state = 0;
  uint32_t status = 0;
};

void DecodeProto(std::string_view proto, Entry& entry) {
  ForEachAttribute(proto, [&](uint16_t type, std::string_view payload) {
    if (type == CTA_PROTO_NUM && payload.size() >= 1) {
      entry.protocol_number = static_cast<uint8_t>(payload[0]);
      entry.has_protocol = true;
    } else if (type == CTA_PROTO_DST_PORT && payload.size() >= 2) {
      entry.dport = ntohs(Load<uint16_t>(payload.data()));
    }
  });
}

void DecodeTupleOrig(std::string_view tuple, Entry& entry) {
  ForEachAttribute(tuple, [&](uint16_t type, std::string_view payload) {
    if (type == CTA_TUPLE_PROTO) DecodeProto(payload, entry);
  });
}

void DecodeProtoInfo(std::string_view info, Entry& entry) {
  ForEachAttribute(info, [&](uint16_t type, std::string_view payload) {
    if (type != CTA_PROTOINFO_TCP) return;
    ForEachAttribute(payload, [&](uint16_t tcp_type, std::string_view tcp_payload) {
      if (tcp_type == CTA_PROTOINFO_TCP_STATE && tcp_payload.size() >= 1) {
        entry.tcp_state = static_cast<uint8_t>(tcp_payload[0]);
      }
    });
  });
}

uint8_t StateOf(TableProtocol protocol, const Entry& entry) {
  if (protocol == kTcp) return entry.tcp_state < kTableStates ? entry.tcp_state : 0;
  if (entry.status & IPS_ASSURED) return kAssured;
  if (entry.status & IPS_SEEN_REPLY) return kReplied;
  return kUnreplied;
}

// Returns false when the family is neither IPv4 nor IPv6.
bool DecodeEntry(std::string_view payload, TableCounts& counts) {
  if (payload.size() < sizeof(nfgenmsg)) return false;
  auto family = static_cast<uint8_t>(payload[0]);
  if (family != AF_INET && family != AF_INET6) return false;
  Entry entry;
  ForEachAttribute(payload.substr(NLMSG_ALIGN(sizeof(nfgenmsg))),
                   [&](uint16_t type, std::string_view attribute) {
                     if (type == CTA_TUPLE_ORIG) {
                       DecodeTupleOrig(attribute, entry);
                     } else if (type == CTA_PROTOINFO) {
                       DecodeProtoInfo(attribute, entry);
                     } else if (type == CTA_STATUS && attribute.size() >= 4) {
                       entry.status = ntohl(Load<uint32_t>(attribute.data()));
                     }
                   });
  TableProtocol protocol =
      entry.has_protocol ? ProtocolFromNumber(entry.protocol_number) : kOtherProtocol;
  counts.Add(family == AF_INET ? kIpv4 : kIpv6, protocol, StateOf(protocol, entry), entry.dport);
  return true;
}

// Errors arrive as a negative errno; report them positive. A value no errno can have (the
// kernel's are below 4096; INT_MIN cannot even be negated) becomes EPROTO.
int ErrnoOf(std::string_view payload) {
  if (payload.size() < sizeof(int32_t)) return EPROTO;
  int64_t value = Load<int32_t>(payload.data());
  if (value < 0) value = -value;
  return value < 4096 ? static_cast<int>(value) : EPROTO;
}

constexpr uint16_t kSubsystem = NFNL_SUBSYS_CTNETLINK;

}  // namespace

DecodeResult DecodeDumpReplies(std::string_view bytes, TableCounts& counts) {
  DecodeResult result;
  while (!bytes.empty()) {
    if (bytes.size() < sizeof(nlmsghdr)) {
      result.malformed = true;
      break;
    }
    auto header = Load<nlmsghdr>(bytes.data());
    if (header.nlmsg_len < NLMSG_HDRLEN || header.nlmsg_len > bytes.size()) {
      result.malformed = true;
      break;
    }
    std::string_view payload = bytes.substr(NLMSG_HDRLEN, header.nlmsg_len - NLMSG_HDRLEN);
    if (header.nlmsg_type == NLMSG_DONE) {
      result.done = true;
      // A dump that failed midway ends with DONE carrying the negative errno.
      if (payload.size() >= sizeof(int32_t) && Load<int32_t>(payload.data()) < 0) {
        result.error = ErrnoOf(payload);
      }
      break;
    }
    if (header.nlmsg_type == NLMSG_ERROR) {
      result.error = ErrnoOf(payload);
      // error 0 is an acknowledgement, which a dump does not ask for; treat it as the end.
      if (result.error == 0) result.done = true;
      break;
    }
    // Dump replies are CT_NEW on 6.18 (recorded); older kernels may echo the request's CT_GET.
    uint16_t subsystem = header.nlmsg_type >> 8, message = header.nlmsg_type & 0xff;
    if (subsystem == kSubsystem && (message == IPCTNL_MSG_CT_GET || message == IPCTNL_MSG_CT_NEW)) {
      if (DecodeEntry(payload, counts)) {
        ++result.entries;
      } else {
        ++result.undecodable;
      }
    }
    size_t step = NLMSG_ALIGN(header.nlmsg_len);
    if (step >= bytes.size()) break;
    bytes.remove_prefix(step);
  }
  return result;
}

}  // namespace nfct
