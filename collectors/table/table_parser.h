// Decodes the replies of a ctnetlink table dump (IPCTNL_MSG_CT_GET + NLM_F_DUMP) into TableCounts.
// Pure: bytes in, counts out; no I/O, no allocation, safe on any input (fuzzed). Called by the
// dump thread once per recv(); not thread safe with respect to the TableCounts it fills.
// One reply, as `conntrack -L` prints it (recorded on 6.18; the attributes read are the same in
// the 5.10, 6.1, 6.12 and 7.2 sources):
//   tcp 6 118 TIME_WAIT src=198.18.0.0 dst=198.19.0.1 sport=10000 dport=80 ... [ASSURED]
// Read per entry: nfgen_family, CTA_TUPLE_ORIG/CTA_TUPLE_PROTO/{CTA_PROTO_NUM,CTA_PROTO_DST_PORT},
// CTA_PROTOINFO/CTA_PROTOINFO_TCP/CTA_PROTOINFO_TCP_STATE, CTA_STATUS.
#pragma once

#include <cstdint>
#include <string_view>

#include "collectors/table/table_counts.h"

namespace nfct {

struct DecodeResult {
  uint64_t entries = 0;      // conntrack entries added to the counts
  uint64_t undecodable = 0;  // conntrack messages of an unknown address family (not counted)
  bool done = false;         // NLMSG_DONE seen: the dump is complete
  int error = 0;             // errno of an NLMSG_ERROR reply or a failed NLMSG_DONE, else 0
  bool malformed = false;    // a message header ran past the end of the bytes
};

// Decodes a sequence of netlink messages (one or more recv() buffers laid end to end). Stops at
// NLMSG_DONE, at an error, or at the first malformed message header. Messages of other types
// (NLMSG_NOOP, other subsystems) are skipped. An entry whose attributes are truncated is still
// counted with what could be read: protocol "other" without CTA_PROTO_NUM, TCP state "none"
// without CTA_PROTOINFO_TCP_STATE, "unreplied" without CTA_STATUS, port 0 without a port.
DecodeResult DecodeDumpReplies(std::string_view bytes, TableCounts& counts);

}  // namespace nfct
