// Command-line flags, in the style of node_exporter (kingpin): --flag=value or --flag value,
// --[no-]collector.<name> and --collector.<name>.<option> generated from collectors/all.cc.
// Parsing is pure; main() calls it once before any thread starts.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "collectors/all.h"
#include "collectors/log.h"
#include "exporter/http/http_options.h"

namespace nfct {

// The default port: 9725 (9100, 9318 and 9371 belong to other exporters).
inline constexpr std::string_view kDefaultListenAddress = ":9725";

struct Flags {
  std::vector<std::string> listen_addresses;  // --web.listen-address, repeatable
  HttpOptions http;  // --web.telemetry-path, --web.max-requests and the connection limits
  std::string web_config_file;  // --web.config.file; empty: plain HTTP, no authentication
  bool systemd_socket = false;  // --web.systemd-socket
  bool disable_exporter_metrics = false;
  std::string procfs = "/proc";
  std::string sysfs = "/sys";
  std::map<std::string, bool, std::less<>> collector_enabled;              // by collector name
  std::map<std::string, CollectorOptions, std::less<>> collector_options;  // by collector name
  LogLevel log_level = LogLevel::kInfo;
  LogFormat log_format = LogFormat::kLogfmt;
  bool help = false;
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
