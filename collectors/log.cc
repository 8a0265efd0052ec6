#include "collectors/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <mutex>

namespace nfct {
namespace {

struct LogConfig {
  LogLevel min_level = LogLevel::kInfo;
  LogFormat format = LogFormat::kLogfmt;
  std::ostream* out = &std::cerr;
  std::mutex mutex;
};

LogConfig& Config() {
  static LogConfig config;
  return config;
}

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "error";
}

bool NeedsQuotes(std::string_view value) {
  if (value.empty()) return true;
  for (unsigned char c : value) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f) return true;
  }
  return false;
}

}  // namespace

void AppendQuoted(std::string& out, std::string_view value) {
  out += '"';
  for (unsigned char c : value) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

namespace {

void AppendField(std::string& out, LogFormat format, std::string_view key, std::string_view value) {
  if (format == LogFormat::kJson) {
    if (out.size() > 1) out += ',';
    AppendQuoted(out, key);
    out += ':';
    AppendQuoted(out, value);
    return;
  }
  if (!out.empty()) out += ' ';
  out += key;
  out += '=';
  if (NeedsQuotes(value)) {
    AppendQuoted(out, value);
  } else {
    out += value;
  }
}

std::string NowRfc3339() {
  auto now = std::chrono::system_clock::now();
  auto seconds = std::chrono::system_clock::to_time_t(now);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis.count()));
  return buf;
}

}  // namespace

std::optional<LogLevel> ParseLogLevel(std::string_view text) {
  for (auto level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (text == LevelName(level)) return level;
  }
  return std::nullopt;
}

std::optional<LogFormat> ParseLogFormat(std::string_view text) {
  if (text == "logfmt") return LogFormat::kLogfmt;
  if (text == "json") return LogFormat::kJson;
  return std::nullopt;
}

void ConfigureLog(LogLevel min_level, LogFormat format, std::ostream* out) {
  auto& config = Config();
  std::lock_guard lock(config.mutex);
  config.min_level = min_level;
  config.format = format;
  config.out = out ? out : &std::cerr;
}

std::string FormatLogLine(LogFormat format, std::string_view ts, LogLevel level,
                          std::string_view msg, std::initializer_list<LogField> fields) {
  std::string line = format == LogFormat::kJson ? "{" : "";
  AppendField(line, format, "ts", ts);
  AppendField(line, format, "level", LevelName(level));
  AppendField(line, format, "msg", msg);
  for (const auto& [key, value] : fields) AppendField(line, format, key, value);
  if (format == LogFormat::kJson) line += '}';
  return line;
}

void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  auto& config = Config();
  std::lock_guard lock(config.mutex);
  if (level < config.min_level) return;
  *config.out << FormatLogLine(config.format, NowRfc3339(), level, msg, fields) << '\n';
  config.out->flush();
}

}  // namespace nfct
