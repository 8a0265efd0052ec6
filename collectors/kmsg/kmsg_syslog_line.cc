#include "collectors/kmsg/kmsg_syslog_line.h"

#include <ctime>

#include "collectors/text.h"

namespace nfct {
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

}  // namespace nfct
