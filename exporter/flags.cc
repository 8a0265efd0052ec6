#include "exporter/flags.h"

#include <cstdlib>
#include <sstream>

#include "collectors/duration.h"
#include "collectors/text.h"

namespace nfct {

const FlagSpec<SharedFlags>& SharedFlagSpec(std::string_view name) {
  // A path left empty would make every kernel path relative to the working directory.
  static const FlagSpec<SharedFlags> kShared[] = {
      {"web.listen-address", "ADDRESS", kDefaultListenAddress,
       "Address to listen on for HTTP; repeat the flag to listen on several.",
       [](SharedFlags& f, std::string_view v) {
         if (v.find(':') == std::string_view::npos)
           return std::string("must be host:port or :port");
         f.listen_addresses.emplace_back(v);
         return std::string();
       }},
      {"path.procfs", "PATH", "/proc",
       "procfs mountpoint; in a container with the host's /proc at /host/proc, /host/proc.",
       [](SharedFlags& f, std::string_view v) {
         if (v.empty()) return std::string("must name a directory");
         f.procfs = v;
         return std::string();
       }},
      {"path.sysfs", "PATH", "/sys", "sysfs mountpoint.",
       [](SharedFlags& f, std::string_view v) {
         if (v.empty()) return std::string("must name a directory");
         f.sysfs = v;
         return std::string();
       }},
      {"help", "", "", "Show this help and exit.",
       [](SharedFlags& f, std::string_view) {
         f.help = true;
         return std::string();
       }},
  };
  for (const auto& spec : kShared) {
    if (spec.name == name) return spec;
  }
  std::abort();  // a table names a shared flag that does not exist: a programming error
}

namespace {

// A whole number in [min, max] into `out`; returns an error or "".
template <typename Number>
std::string SetNumber(std::string_view v, Number& out, long long min, long long max) {
  WholeNumber n = ParseWholeNumber(v, min, max);
  if (n.error.empty()) out = static_cast<Number>(n.value);
  return n.error;
}

std::string SetDuration(std::string_view v, std::chrono::milliseconds& out) {
  if (std::string why = PositiveDurationError(v); !why.empty()) return why;
  auto parsed = ParseDuration(v);
  out = *parsed;
  return "";
}

const std::vector<FlagSpec<Flags>>& ExporterFlags() {
  static const std::vector<FlagSpec<Flags>> kSpecs = {
      SharedFlag<Flags>("web.listen-address"),
      {"web.telemetry-path", "PATH", "/metrics", "Path under which to expose metrics.",
       [](Flags& f, std::string_view v) {
         if (!v.starts_with("/") || v == "/") return std::string("must start with / and not be /");
         f.http.telemetry_path = v;
         return std::string();
       }},
      {"web.max-requests", "N", "40",
       "Maximum number of scrapes queued or running at once; further ones get 503. 0 means no "
       "limit.",
       [](Flags& f, std::string_view v) { return SetNumber(v, f.http.max_requests, 0, 1000000); }},
      {"web.max-connections", "N", "4096",
       "Maximum number of open HTTP connections per listen address; more are refused.",
       [](Flags& f, std::string_view v) {
         return SetNumber(v, f.http.limits.max_connections, 1, 1000000);
       }},
      {"web.max-connections-per-ip", "N", "64",
       "Maximum number of open HTTP connections from one client address. 0 means no limit.",
       [](Flags& f, std::string_view v) {
         return SetNumber(v, f.http.limits.max_connections_per_ip, 0, 1000000);
       }},
      {"web.max-header-bytes", "BYTES", "16384",
       "Maximum size of a request line and headers; a larger request gets 431 and is closed.",
       [](Flags& f, std::string_view v) {
         return SetNumber(v, f.http.limits.max_header_bytes, 4096, 1 << 24);
       }},
      {"web.read-header-timeout", "DURATION", "10s",
       "Time a client has to send a complete request head, counted from connect (or from the "
       "end of the idle timeout on a kept-alive connection); a slow or trickling client is "
       "closed.",
       [](Flags& f, std::string_view v) {
         return SetDuration(v, f.http.limits.read_header_timeout);
       }},
      {"web.idle-timeout", "DURATION", "6m",
       "Close a connection on which no byte moved for this long (kept-alive or stalled). Longer "
       "than Prometheus keeps an idle connection (5m), so a scrape reuses it and needs no new "
       "conntrack entry; a client that never sends a request is closed at "
       "--web.read-header-timeout whatever this is.",
       [](Flags& f, std::string_view v) { return SetDuration(v, f.http.limits.idle_timeout); }},
      {"web.listen-backlog", "N", "1024",
       "Length of the queue of connections not yet accepted (capped by net.core.somaxconn).",
       [](Flags& f, std::string_view v) {
         return SetNumber(v, f.http.limits.listen_backlog, 1, 65535);
       }},
      {"web.config.file", "FILE", "",
       "Web configuration file in the exporter toolkit's format (as node_exporter's): TLS, "
       "client certificates, basic auth, response headers.",
       [](Flags& f, std::string_view v) {
         if (v.empty()) return std::string("must name a file");
         f.web_config_file = v;
         return std::string();
       }},
      {"web.systemd-socket", "", "false",
       "Serve on the sockets systemd passes (socket activation) instead of "
       "--web.listen-address.",
       [](Flags& f, std::string_view) {
         f.systemd_socket = true;
         return std::string();
       }},
      {"web.disable-exporter-metrics", "", "false",
       "Exclude the exporter's own process_* and build_info metrics from /metrics.",
       [](Flags& f, std::string_view) {
         f.disable_exporter_metrics = true;
         return std::string();
       }},
      SharedFlag<Flags>("path.procfs"),
      SharedFlag<Flags>("path.sysfs"),
      {"log.level", "LEVEL", "info",
       "Only log messages with this level or above: debug, info, warn, error.",
       [](Flags& f, std::string_view v) {
         auto level = ParseLogLevel(v);
         if (!level) return std::string("must be one of debug, info, warn, error");
         f.log_level = *level;
         return std::string();
       }},
      {"log.format", "FORMAT", "logfmt", "Log format: logfmt or json.",
       [](Flags& f, std::string_view v) {
         auto format = ParseLogFormat(v);
         if (!format) return std::string("must be logfmt or json");
         f.log_format = *format;
         return std::string();
       }},
      {"collector.disable-defaults", "", "false",
       "Disable every collector that is not enabled explicitly with --collector.<name>.",
       [](Flags& f, std::string_view) {
         f.collector_disable_defaults = true;  // applied after parsing, whatever the order
         return std::string();
       }},
      SharedFlag<Flags>("help"),
      {"version", "", "", "Show the version and exit.",
       [](Flags& f, std::string_view) {
         f.version = true;
         return std::string();
       }},
  };
  return kSpecs;
}

std::optional<bool> ParseBool(std::string_view v) {
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  return std::nullopt;
}

std::string Fail(std::string_view flag, std::string_view why) {
  return "--" + std::string(flag) + ": " + std::string(why);
}

// One row's value: a boolean alone or =true/=false, any other from "=" or the next argument.
std::string ParseRow(const BoundFlag& row, std::optional<std::string_view> value,
                     const std::function<std::optional<std::string_view>()>& take_value) {
  if (row.placeholder.empty()) {
    if (value) {
      auto parsed = ParseBool(*value);
      if (!parsed) return Fail(row.name, "takes true or false");
      if (!*parsed) return "";
    }
  } else if (!value) {
    value = take_value();
    if (!value) return Fail(row.name, "needs a value");
  }
  if (std::string why = row.set(value.value_or("")); !why.empty()) return Fail(row.name, why);
  return "";
}

}  // namespace

std::string ParseCommandLine(const std::vector<std::string>& args,
                             const std::vector<BoundFlag>& table, std::string_view help_command,
                             const FlagFallback& fallback) {
  size_t next = 0;
  std::function<std::optional<std::string_view>()> take_value =
      [&]() -> std::optional<std::string_view> {
    if (next >= args.size()) return std::nullopt;
    return args[next++];
  };
  while (next < args.size()) {
    std::string_view arg = args[next++];
    if (arg == "-h") arg = "--help";
    if (!arg.starts_with("--")) {
      return Fail(arg.substr(arg.starts_with("-") ? 1 : 0), "unexpected argument");
    }
    arg.remove_prefix(2);
    std::string_view name = arg;
    std::optional<std::string_view> value;
    if (size_t eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    const BoundFlag* row = nullptr;
    for (const auto& candidate : table) {
      if (candidate.name == name) row = &candidate;
    }
    std::string error;
    if (row != nullptr) {
      error = ParseRow(*row, value, take_value);
    } else if (auto handled = fallback ? fallback(name, value, take_value) : std::nullopt) {
      error = *handled;
    } else {
      error = Fail(name, "unknown flag (see " + std::string(help_command) + ")");
    }
    if (!error.empty()) return error;
  }
  return "";
}

void WriteFlagLine(std::ostream& out, std::string flag, std::string_view help,
                   std::string_view default_text) {
  out << "  " << flag;
  if (flag.size() < 44)
    out << std::string(44 - flag.size(), ' ');
  else
    out << "\n" << std::string(46, ' ');
  out << help;
  if (!default_text.empty()) out << " (default: " << default_text << ")";
  out << "\n";
}

void WriteFlagLines(std::ostream& out, const std::vector<BoundFlag>& table) {
  for (const auto& row : table) {
    std::string flag = "--" + std::string(row.name);
    if (!row.placeholder.empty()) flag += "=" + std::string(row.placeholder);
    WriteFlagLine(out, flag, row.help, row.placeholder.empty() ? "" : row.default_text);
  }
}

namespace {

// The exporter's table, then its --[no-]collector.<name> and --collector.<name>.<option>.
class FlagParser {
 public:
  FlagParser(const std::vector<std::string>& args, const std::vector<CollectorEntry>& collectors)
      : args_(args), collectors_(collectors) {}

  ParsedFlags Parse() {
    std::string error = ParseCommandLine(
        args_, Bind(ExporterFlags(), flags_), "--help",
        [this](std::string_view name, std::optional<std::string_view> value,
               const std::function<std::optional<std::string_view>()>& take_value) {
          return ParseCollectorFlag(name, value, take_value);
        });
    if (error.empty()) error = Finish();
    return {flags_, error};
  }

 private:
  // --[no-]collector.<name>, --collector.<name>.<option>; nullopt for any other flag.
  std::optional<std::string> ParseCollectorFlag(
      std::string_view name, std::optional<std::string_view> value,
      const std::function<std::optional<std::string_view>()>& take_value) {
    bool negated = name.starts_with("no-");
    std::string_view bare = negated ? name.substr(3) : name;
    if (!bare.starts_with("collector.")) return std::nullopt;
    std::string_view collector = bare.substr(10);
    for (const auto& entry : collectors_) {
      if (entry.name != collector) continue;
      bool enabled = !negated;
      if (value) {
        auto parsed = ParseBool(*value);
        if (!parsed) return Fail(name, "takes true or false");
        enabled = negated ? !*parsed : *parsed;
      }
      explicit_enabled_[std::string(collector)] = enabled;
      return "";
    }
    for (const auto& entry : collectors_) {
      for (const auto& option : entry.options) {
        std::string full = "collector." + std::string(entry.name) + "." + std::string(option.name);
        if (negated || full != name) continue;
        if (!value) value = take_value();
        if (!value) return Fail(name, "needs a value");
        if (std::string why = CheckOptionValue(option, *value); !why.empty()) {
          return Fail(name, why);
        }
        given_options_[std::string(entry.name)][std::string(option.name)] = *value;
        return "";
      }
    }
    return std::nullopt;
  }

  // Defaults that depend on what was given, and the collectors' options typed; returns an error
  // or "".
  std::string Finish() {
    if (flags_.listen_addresses.empty()) {
      flags_.listen_addresses.emplace_back(kDefaultListenAddress);
    }
    for (const auto& entry : collectors_) {
      auto it = explicit_enabled_.find(entry.name);
      bool enabled = it != explicit_enabled_.end()
                         ? it->second
                         : (entry.enabled_by_default && !flags_.collector_disable_defaults);
      flags_.collector_enabled[std::string(entry.name)] = enabled;
      auto checked = CollectorOptions::Check(entry.name, entry.options,
                                             given_options_[std::string(entry.name)]);
      if (!checked.error.empty()) return checked.error;  // a declared default that is invalid
      flags_.collector_options.insert_or_assign(std::string(entry.name),
                                                std::move(checked.options));
    }
    return "";
  }

  const std::vector<std::string>& args_;
  const std::vector<CollectorEntry>& collectors_;
  Flags flags_;
  std::map<std::string, bool, std::less<>> explicit_enabled_;
  std::map<std::string, OptionValues, std::less<>> given_options_;  // by collector name
};

}  // namespace

ParsedFlags ParseFlags(const std::vector<std::string>& args,
                       const std::vector<CollectorEntry>& collectors) {
  return FlagParser(args, collectors).Parse();
}

std::string Usage(const std::vector<CollectorEntry>& collectors) {
  std::ostringstream out;
  out << "usage: nf_conntrack_exporter [<flags>]\n"
         "       nf_conntrack_exporter doctor [<doctor flags>]\n\n"
         "A Prometheus exporter for the Linux conntrack table: entries, limit, drops, the\n"
         "kernel log and what fills the table. Read-only: it never changes a sysctl or an "
         "entry.\n\n";
  auto line = [&](std::string flag, std::string_view help, std::string_view default_text) {
    WriteFlagLine(out, std::move(flag), help, default_text);
  };
  // The subcommand parses its own flags (exporter/doctor/); only its name is listed here.
  out << "Commands:\n";
  line("doctor",
       "Diagnose once at the terminal and exit: is conntrack dropping packets here, why, and "
       "what to change (exit 0 OK, 1 AT RISK, 2 DROPPING). Its flags: doctor --help.",
       "");
  out << "\nFlags:\n";
  Flags unused;  // the rows are only read here, never set
  WriteFlagLines(out, Bind(ExporterFlags(), unused));
  out << "\nCollectors:\n";
  for (const auto& entry : collectors) {
    line("--[no-]collector." + std::string(entry.name), entry.help,
         entry.enabled_by_default ? "enabled" : "disabled");
    for (const auto& option : entry.options) {
      line("--collector." + std::string(entry.name) + "." + std::string(option.name) + "=VALUE",
           option.help, option.default_value);
    }
  }
  return out.str();
}

}  // namespace nfct
