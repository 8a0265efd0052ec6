#include "collectors/kmsg/kmsg_parser.h"

#include <cstring>
#include <ctime>

#include "collectors/text.h"

namespace nfct {
namespace {

// ParseInteger into a field of the record being built.
template <typename T>
bool ParseDecimal(std::string_view text, T& out) {
  auto value = ParseInteger<T>(text);
  if (value) out = *value;
  return value.has_value();
}

bool Consume(std::string_view& text, std::string_view prefix) {
  if (!text.starts_with(prefix)) return false;
  text.remove_prefix(prefix.size());
  return true;
}

// Leading decimal digits of `text`, removed from it; empty when there are none.
std::string_view TakeDigits(std::string_view& text) {
  size_t n = 0;
  while (n < text.size() && text[n] >= '0' && text[n] <= '9') ++n;
  std::string_view digits = text.substr(0, n);
  text.remove_prefix(n);
  return digits;
}

std::string_view TrimTrailingSpace(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

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

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
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

std::string_view KmsgErrorName(KmsgError error) {
  switch (error) {
    case KmsgError::kNone:
      return "none";
    case KmsgError::kEmpty:
      return "empty record";
    case KmsgError::kBadPrio:
      return "bad priority";
    case KmsgError::kBadSeq:
      return "bad sequence number";
    case KmsgError::kBadTimestamp:
      return "bad timestamp";
    case KmsgError::kNoSemicolon:
      return "no ';' after the header";
    case KmsgError::kTruncated:
      return "truncated record";
  }
  return "unknown";
}

std::string UnescapeKmsgText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size() && text[i + 1] == 'x') {
      int high = HexValue(text[i + 2]);
      int low = HexValue(text[i + 3]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 3;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

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

namespace {

// "Jun  8 10:48:13" (RFC 3164): month name, day padded with a space or a zero, time.
bool ParseRfc3164(std::string_view& text, SyslogTime& time) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (text.size() < 15) return false;
  int month = 0;
  while (month < 12 && text.substr(0, 3) != kMonths[month]) ++month;
  if (month == 12 || text[3] != ' ') return false;
  std::string_view rest = text.substr(4);
  if (rest.starts_with(' ')) rest.remove_prefix(1);
  std::string_view day = TakeDigits(rest);
  std::string_view hh, mm, ss;
  if (day.empty() || day.size() > 2 || !Consume(rest, " ")) return false;
  hh = TakeDigits(rest);
  if (hh.size() != 2 || !Consume(rest, ":")) return false;
  mm = TakeDigits(rest);
  if (mm.size() != 2 || !Consume(rest, ":")) return false;
  ss = TakeDigits(rest);
  if (ss.size() != 2) return false;
  time = {};
  time.month = month + 1;
  if (!ParseDecimal(day, time.day) || !ParseDecimal(hh, time.hour) ||
      !ParseDecimal(mm, time.minute) || !ParseDecimal(ss, time.second)) {
    return false;
  }
  text = rest;
  return time.day >= 1 && time.day <= 31 && time.hour < 24 && time.minute < 60 && time.second < 61;
}

bool TakeFixed(std::string_view& text, size_t digits, int& out, std::string_view sep) {
  std::string_view number = text.substr(0, digits);
  if (number.size() != digits || TakeDigits(number).size() != digits) return false;
  ParseDecimal(text.substr(0, digits), out);
  text.remove_prefix(digits);
  return sep.empty() || Consume(text, sep);
}

// "2024-06-08T10:48:13.123456+02:00" (RFC 3339, rsyslog's high-precision format).
bool ParseRfc3339(std::string_view& text, SyslogTime& time) {
  SyslogTime t;
  std::string_view rest = text;
  if (!TakeFixed(rest, 4, t.year, "-") || !TakeFixed(rest, 2, t.month, "-") ||
      !TakeFixed(rest, 2, t.day, "T") || !TakeFixed(rest, 2, t.hour, ":") ||
      !TakeFixed(rest, 2, t.minute, ":") || !TakeFixed(rest, 2, t.second, "")) {
    return false;
  }
  if (Consume(rest, ".")) {
    std::string_view digits = TakeDigits(rest);
    if (digits.empty()) return false;
    double scale = 0.1;
    for (char c : digits) {
      t.fraction += (c - '0') * scale;
      scale /= 10;
    }
  }
  if (Consume(rest, "Z")) {
    t.utc_offset_seconds = 0;
  } else {
    if (rest.empty() || (rest[0] != '+' && rest[0] != '-')) return false;
    int sign = rest[0] == '-' ? -1 : 1;
    rest.remove_prefix(1);
    int hours = 0, minutes = 0;
    if (!TakeFixed(rest, 2, hours, ":") || !TakeFixed(rest, 2, minutes, "")) return false;
    t.utc_offset_seconds = sign * (hours * 3600 + minutes * 60);
  }
  if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > 31 || t.hour > 23 || t.minute > 59 ||
      t.second > 60) {
    return false;
  }
  time = t;
  text = rest;
  return true;
}

}  // namespace

std::optional<SyslogLine> ParseSyslogKernelLine(std::string_view line) {
  line = TrimTrailingSpace(line);
  if (Consume(line, "<")) {
    uint32_t pri = 0;
    if (!ParseDecimal(TakeDigits(line), pri) || !Consume(line, ">") || (pri >> 3) != 0) {
      return std::nullopt;
    }
  }
  SyslogLine result;
  if (!ParseRfc3339(line, result.time) && !ParseRfc3164(line, result.time)) return std::nullopt;
  if (!Consume(line, " ")) return std::nullopt;
  size_t host_end = line.find(' ');
  if (host_end == 0 || host_end == std::string_view::npos) return std::nullopt;
  line.remove_prefix(host_end + 1);
  if (!Consume(line, "kernel:")) return std::nullopt;
  // printk's own "[   12.345678]" time and the "[T123]" caller id may precede the message.
  for (int tokens = 0;; ++tokens) {
    while (line.starts_with(' ')) line.remove_prefix(1);
    if (tokens == 2 || !line.starts_with('[')) break;
    size_t close = line.find(']');
    if (close == std::string_view::npos) break;
    line.remove_prefix(close + 1);
  }
  result.message = line;
  return result;
}

double SyslogTimeToEpoch(const SyslogTime& time, double now_epoch) {
  std::tm tm{};
  tm.tm_mon = time.month - 1;
  tm.tm_mday = time.day;
  tm.tm_hour = time.hour;
  tm.tm_min = time.minute;
  tm.tm_sec = time.second;
  if (time.utc_offset_seconds) {
    tm.tm_year = time.year - 1900;
    return static_cast<double>(timegm(&tm) - *time.utc_offset_seconds) + time.fraction;
  }
  time_t now = static_cast<time_t>(now_epoch);
  std::tm now_tm{};
  localtime_r(&now, &now_tm);
  auto local = [&](int year) {
    std::tm copy = tm;
    copy.tm_year = year;
    copy.tm_isdst = -1;
    return static_cast<double>(mktime(&copy)) + time.fraction;
  };
  if (time.year != 0) return local(time.year - 1900);
  // A December line read in January belongs to last year.
  double guess = local(now_tm.tm_year);
  return guess > now_epoch + 86400 ? local(now_tm.tm_year - 1) : guess;
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
