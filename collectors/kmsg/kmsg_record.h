// Parses one /dev/kmsg record as one read() returns it. Pure: no I/O, no allocation; called by the
// kmsg device source and the matcher (kmsg_match.h), fuzzed and benchmarked. Thread safe.
//   4,339,585401705,-;nf_conntrack: nf_conntrack: table full in netns 4026532177, dropping packet
// Knows the header of every kernel since 3.5: with and without flags (3.6+), with caller= (5.1+).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nfct {

// "prio,seq,ts_usec[,flags[,...]];text\n[ KEY=value\n]*"
enum class KmsgError {
  kNone,
  kEmpty,
  kBadPrio,
  kBadSeq,
  kBadTimestamp,
  kNoSemicolon,  // the header never ends
  kTruncated,    // the text has no terminating newline
};

struct KmsgRecord {
  uint32_t prio = 0;  // facility << 3 | level
  uint64_t seq = 0;
  uint64_t ts_usec = 0;   // monotonic since boot
  std::string_view text;  // first line only, still \xNN-escaped
  uint32_t facility() const { return prio >> 3; }
};

struct KmsgParse {
  KmsgRecord record;
  KmsgError error = KmsgError::kNone;
  bool ok() const { return error == KmsgError::kNone; }
};

// One record as one read() of /dev/kmsg returns it. Unknown header fields before ';' are ignored;
// continuation lines (" KEY=value") are skipped. `record.text` points into `data`.
KmsgParse ParseKmsgRecord(std::string_view data);

// Decodes the kernel's \xNN escapes (non-printable bytes and '\' itself); other text is kept.
std::string UnescapeKmsgText(std::string_view text);

}  // namespace nfct
