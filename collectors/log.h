// Structured logging for the whole program: one line per event on stderr, logfmt or JSON,
// filtered by level. The exporter configures it once at start; any thread may log.
// Usage: Log(LogLevel::kWarn, "cannot read source", {{"collector", "stat"}, {"err", why}});
#pragma once

#include <initializer_list>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace nfct {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
enum class LogFormat { kLogfmt, kJson };

std::optional<LogLevel> ParseLogLevel(std::string_view text);
std::optional<LogFormat> ParseLogFormat(std::string_view text);

// Not thread safe against concurrent Log(): call before starting threads. `out` must outlive use.
void ConfigureLog(LogLevel min_level, LogFormat format, std::ostream* out = nullptr);

using LogField = std::pair<std::string_view, std::string_view>;
void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});

// Appends `value` as a double-quoted string with the escapes both logfmt and JSON accept; the
// doctor's JSON report uses it too.
void AppendQuoted(std::string& out, std::string_view value);

// Formats one line without the timestamp; exposed for tests.
std::string FormatLogLine(LogFormat format, std::string_view ts, LogLevel level,
                          std::string_view msg, std::initializer_list<LogField> fields);

}  // namespace nfct
