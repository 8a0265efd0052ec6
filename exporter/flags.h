// Command-line flags, in the style of node_exporter (kingpin): --flag=value or --flag value,
// --[no-]collector.<name> and --collector.<name>.<option> generated from collectors/all.cc. One
// table kind, parser and usage writer for the exporter and `doctor` (exporter/doctor/), which
// share the rows of SharedFlag. Parsing is pure; main() calls it once before any thread starts.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "collectors/all.h"
#include "collectors/log.h"
#include "exporter/http/http_options.h"

namespace nfct {

// The default port: 9725 (9100, 9318 and 9371 belong to other exporters).
inline constexpr std::string_view kDefaultListenAddress = ":9725";

// What the flags both programs take fill; each program's own flags derive from it.
struct SharedFlags {
  std::vector<std::string> listen_addresses;  // --web.listen-address, repeatable
  std::string procfs = "/proc";
  std::string sysfs = "/sys";
  bool help = false;
};

// One row of a flag table: the name, help and setter of a flag, written once.
template <typename Target>
struct FlagSpec {
  std::string_view name;
  std::string_view placeholder;  // empty for a boolean
  std::string_view default_text;
  std::string_view help;
  std::function<std::string(Target&, std::string_view)> set;  // returns an error or ""
};

// The row of a flag both programs take (web.listen-address, path.procfs, path.sysfs, help), for
// a table of `Target` (SharedFlags or a struct derived from it).
const FlagSpec<SharedFlags>& SharedFlagSpec(std::string_view name);
template <typename Target>
FlagSpec<Target> SharedFlag(std::string_view name) {
  const auto& spec = SharedFlagSpec(name);
  return {spec.name, spec.placeholder, spec.default_text, spec.help,
          [set = spec.set](Target& t, std::string_view v) { return set(t, v); }};
}

// A row bound to the struct it fills: what the parser and the usage writer read.
struct BoundFlag {
  std::string_view name;
  std::string_view placeholder;
  std::string_view default_text;
  std::string_view help;
  std::function<std::string(std::string_view)> set;
};
template <typename Target>
std::vector<BoundFlag> Bind(const std::vector<FlagSpec<Target>>& table, Target& target) {
  std::vector<BoundFlag> bound;
  for (const auto& spec : table) {
    bound.push_back({spec.name, spec.placeholder, spec.default_text, spec.help,
                     [&target, set = spec.set](std::string_view v) { return set(target, v); }});
  }
  return bound;
}

// Flags no table row names (the exporter's --[no-]collector.*): given the name without "--"
// and the value after "=", returns nullopt when it is no such flag, else an error or "".
// `take_value` gives the next argument for the "--flag value" spelling.
using FlagFallback = std::function<std::optional<std::string>(
    std::string_view name, std::optional<std::string_view> value,
    const std::function<std::optional<std::string_view>()>& take_value)>;

// The one command-line parser: --flag=value and --flag value; a boolean alone or =true/=false;
// -h is --help. Returns "" or one error "--flag: why"; `help_command` names the --help to see.
std::string ParseCommandLine(const std::vector<std::string>& args,
                             const std::vector<BoundFlag>& table, std::string_view help_command,
                             const FlagFallback& fallback = nullptr);

// The one usage writer: one line per flag, "--name=PLACEHOLDER  help (default: x)".
void WriteFlagLine(std::ostream& out, std::string flag, std::string_view help,
                   std::string_view default_text);
void WriteFlagLines(std::ostream& out, const std::vector<BoundFlag>& table);

struct Flags : SharedFlags {
  HttpOptions http;  // --web.telemetry-path, --web.max-requests and the connection limits
  std::string web_config_file;  // --web.config.file; empty: plain HTTP, no authentication
  bool systemd_socket = false;  // --web.systemd-socket
  bool disable_exporter_metrics = false;
  bool collector_disable_defaults = false;
  std::map<std::string, bool, std::less<>> collector_enabled;              // by collector name
  std::map<std::string, CollectorOptions, std::less<>> collector_options;  // by collector name
  LogLevel log_level = LogLevel::kInfo;
  LogFormat log_format = LogFormat::kLogfmt;
  bool version = false;
};

struct ParsedFlags {
  Flags flags;
  std::string error;  // non-empty: one line saying which flag is wrong and why
};

ParsedFlags ParseFlags(const std::vector<std::string>& args,
                       const std::vector<CollectorEntry>& collectors);

// The --help text: every flag with its default, collectors listed from the same table.
std::string Usage(const std::vector<CollectorEntry>& collectors);

}  // namespace nfct
