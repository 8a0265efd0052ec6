#include "collectors/kmsg/kmsg_match.h"

#include "collectors/text.h"

namespace nfct {
namespace {

LogMatch MatchConntrack(std::string_view text) {
  int prefixes = 0;
  if (Consume(text, "ip_conntrack: ")) {
    prefixes = 1;
  } else {
    while (prefixes < 2 && Consume(text, "nf_conntrack: ")) ++prefixes;
  }
  if (prefixes == 0) return {};
  if (text == "expectation table full") return {LogEvent::kExpectationTableFull, {}, 0};
  if (!Consume(text, "table full")) return {};
  if (text == ", dropping packet" || text == ", dropping packet.") {
    return {LogEvent::kTableFull, {}, 0};
  }
  if (!Consume(text, " in netns ")) return {};
  uint64_t inode = 0;
  if (!ParseDecimal(TakeDigits(text), inode) || text != ", dropping packet") return {};
  return {LogEvent::kTableFull, inode, 0};
}

LogMatch MatchSuppressed(std::string_view text) {
  std::string_view tail;
  if (Consume(text, "net_ratelimit: ") || Consume(text, "__ratelimit: ")) {
    tail = " callbacks suppressed";
  } else if (Consume(text, "printk: ")) {
    tail = " messages suppressed.";
  } else {
    return {};
  }
  uint64_t count = 0;
  if (!ParseDecimal(TakeDigits(text), count) || text != tail) return {};
  return {LogEvent::kSuppressed, {}, count};
}

}  // namespace

LogMatch MatchKernelMessage(std::string_view text) {
  text = TrimTrailingSpace(text);
  if (text.empty()) return {};
  // One byte decides which (if any) of the two families can match: keeps the common
  // non-matching record to a single comparison.
  switch (text.front()) {
    case 'n':
      if (text.size() > 1 && text[1] == 'f') return MatchConntrack(text);
      return MatchSuppressed(text);
    case 'i':
      return MatchConntrack(text);
    case '_':
    case 'p':
      return MatchSuppressed(text);
    default:
      return {};
  }
}

std::string_view LogEventLabel(LogEvent event) {
  switch (event) {
    case LogEvent::kTableFull:
      return "table_full";
    case LogEvent::kExpectationTableFull:
      return "expectation_table_full";
    default:
      return "";
  }
}

KmsgClassified ClassifyKmsgRecord(std::string_view data) {
  KmsgClassified result{ParseKmsgRecord(data), {}};
  if (!result.parse.ok() || result.parse.record.facility() != 0) return result;
  std::string_view text = result.parse.record.text;
  // The conntrack lines are plain ASCII, so an escape can only matter for odd input; decode only
  // then, keeping the common path allocation free.
  if (text.find('\\') == std::string_view::npos) {
    result.match = MatchKernelMessage(text);
  } else {
    result.match = MatchKernelMessage(UnescapeKmsgText(text));
  }
  return result;
}

std::optional<uint64_t> ParseJournaldMissed(std::string_view message) {
  message = TrimTrailingSpace(message);
  uint64_t count = 0;
  if (!Consume(message, "Missed ") || !ParseDecimal(TakeDigits(message), count) ||
      message != " kernel messages") {
    return std::nullopt;
  }
  return count;
}

std::optional<KernelVersion> ParseKernelRelease(std::string_view text) {
  KernelVersion version;
  if (!ParseDecimal(TakeDigits(text), version.major) || !Consume(text, ".") ||
      !ParseDecimal(TakeDigits(text), version.minor)) {
    return std::nullopt;
  }
  return version;
}

}  // namespace nfct
