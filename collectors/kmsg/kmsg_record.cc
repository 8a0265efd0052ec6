#include "collectors/kmsg/kmsg_record.h"

#include <cstring>

#include "collectors/text.h"

namespace nfct {
namespace {

// The header is "prio,seq,ts_usec" then optional fields (flags since 3.6, caller=T1 since 5.1)
// that we do not need and must not reject.
KmsgError ParseHeader(std::string_view header, KmsgRecord& record) {
  size_t comma1 = header.find(',');
  if (comma1 == std::string_view::npos) return KmsgError::kBadSeq;
  if (!ParseDecimal(header.substr(0, comma1), record.prio) || record.prio > 2047) {
    return KmsgError::kBadPrio;
  }
  header.remove_prefix(comma1 + 1);
  size_t comma2 = header.find(',');
  if (comma2 == std::string_view::npos) return KmsgError::kBadTimestamp;
  if (!ParseDecimal(header.substr(0, comma2), record.seq)) return KmsgError::kBadSeq;
  header.remove_prefix(comma2 + 1);
  std::string_view ts = header.substr(0, header.find(','));
  if (!ParseDecimal(ts, record.ts_usec)) return KmsgError::kBadTimestamp;
  return KmsgError::kNone;
}

}  // namespace

KmsgParse ParseKmsgRecord(std::string_view data) {
  KmsgParse result;
  if (data.empty()) {
    result.error = KmsgError::kEmpty;
    return result;
  }
  const void* semi = std::memchr(data.data(), ';', data.size());
  if (semi == nullptr) {
    result.error = KmsgError::kNoSemicolon;
    return result;
  }
  size_t header_len = static_cast<const char*>(semi) - data.data();
  result.error = ParseHeader(data.substr(0, header_len), result.record);
  if (!result.ok()) return result;
  std::string_view body = data.substr(header_len + 1);
  const void* newline = std::memchr(body.data(), '\n', body.size());
  if (newline == nullptr) {
    result.error = KmsgError::kTruncated;
    return result;
  }
  // Continuation lines after the newline carry KEY=value device data: not needed here.
  result.record.text = body.substr(0, static_cast<const char*>(newline) - body.data());
  return result;
}

std::string UnescapeKmsgText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size() && text[i + 1] == 'x') {
      if (auto byte = ParseHex32(text.substr(i + 2, 2))) {
        out.push_back(static_cast<char>(*byte));
        i += 3;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

}  // namespace nfct
