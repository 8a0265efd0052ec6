#include "exporter/flags.h"

#include <charconv>
#include <functional>
#include <sstream>

namespace nfct {
namespace {

// One row per generic flag: the help text and the setter are written once, here.
struct FlagSpec {
  std::string_view name;
  std::string_view placeholder;  // empty for a boolean
  std::string_view default_text;
  std::string_view help;
  std::function<std::string(Flags&, std::string_view)> set;  // returns an error or ""
};

const std::vector<FlagSpec>& GenericFlags() {
  static const std::vector<FlagSpec> kSpecs = {
      {"web.listen-address", "ADDRESS", kDefaultListenAddress,
       "Address to listen on for HTTP; repeat the flag to listen on several.",
       [](Flags& f, std::string_view v) {
         if (v.find(':') == std::string_view::npos)
           return std::string("must be host:port or :port");
         f.listen_addresses.emplace_back(v);
         return std::string();
       }},
      {"web.telemetry-path", "PATH", "/metrics", "Path under which to expose metrics.",
       [](Flags& f, std::string_view v) {
         if (!v.starts_with("/") || v == "/") return std::string("must start with / and not be /");
         f.telemetry_path = v;
         return std::string();
       }},
      {"web.max-requests", "N", "40",
       "Maximum number of parallel scrape requests; further ones get 503. 0 means no limit.",
       [](Flags& f, std::string_view v) {
         int n = 0;
         auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
         if (ec != std::errc() || ptr != v.data() + v.size() || n < 0)
           return std::string("must be a whole number >= 0");
         f.max_requests = n;
         return std::string();
       }},
      {"web.disable-exporter-metrics", "", "false",
       "Exclude the exporter's own process_* and build_info metrics from /metrics.",
       [](Flags& f, std::string_view) {
         f.disable_exporter_metrics = true;
         return std::string();
       }},
      {"path.procfs", "PATH", "/proc",
       "procfs mountpoint; in a container with the host's /proc at /host/proc, /host/proc.",
       [](Flags& f, std::string_view v) {
         f.procfs = v;
         return std::string();
       }},
      {"path.sysfs", "PATH", "/sys", "sysfs mountpoint.",
       [](Flags& f, std::string_view v) {
         f.sysfs = v;
         return std::string();
       }},
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
       [](Flags&, std::string_view) { return std::string(); }},  // applied after parsing
      {"help", "", "", "Show this help and exit.",
       [](Flags& f, std::string_view) {
         f.help = true;
         return std::string();
       }},
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

}  // namespace

ParsedFlags ParseFlags(const std::vector<std::string>& args,
                       const std::vector<CollectorEntry>& collectors) {
  ParsedFlags result;
  Flags& flags = result.flags;
  bool disable_defaults = false;
  std::map<std::string, bool, std::less<>> explicit_enabled;
  for (const auto& entry : collectors) {
    auto& options = flags.collector_options[std::string(entry.name)];
    for (const auto& option : entry.options) {
      options[std::string(option.name)] = std::string(option.default_value);
    }
  }
  auto fail = [&](std::string_view flag, std::string_view why) {
    result.error = "--" + std::string(flag) + ": " + std::string(why);
    return result;
  };

  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "-h") arg = "--help";
    if (!arg.starts_with("--"))
      return fail(arg.substr(arg.starts_with("-") ? 1 : 0), "unexpected argument");
    arg.remove_prefix(2);
    std::string_view name = arg;
    std::optional<std::string_view> value;
    if (size_t eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }

    // --[no-]collector.<name>
    bool negated = name.starts_with("no-");
    std::string_view bare = negated ? name.substr(3) : name;
    if (bare.starts_with("collector.")) {
      std::string_view collector = bare.substr(10);
      bool found = false;
      for (const auto& entry : collectors) {
        if (entry.name != collector) continue;
        found = true;
        bool enabled = !negated;
        if (value) {
          auto parsed = ParseBool(*value);
          if (!parsed) return fail(name, "takes true or false");
          enabled = negated ? !*parsed : *parsed;
        }
        explicit_enabled[std::string(collector)] = enabled;
      }
      if (found) continue;
      if (bare == "collector.disable-defaults" && !negated) {
        disable_defaults = true;
        continue;
      }
      // --collector.<name>.<option>
      bool option_found = false;
      for (const auto& entry : collectors) {
        for (const auto& option : entry.options) {
          std::string full =
              "collector." + std::string(entry.name) + "." + std::string(option.name);
          if (negated || full != name) continue;
          option_found = true;
          if (!value) {
            if (i + 1 >= args.size()) return fail(name, "needs a value");
            value = args[++i];
          }
          flags.collector_options[std::string(entry.name)][std::string(option.name)] = *value;
        }
      }
      if (option_found) continue;
      return fail(name, "unknown flag (see --help)");
    }

    const FlagSpec* spec = nullptr;
    for (const auto& candidate : GenericFlags()) {
      if (candidate.name == name) spec = &candidate;
    }
    if (spec == nullptr) return fail(name, "unknown flag (see --help)");
    if (spec->placeholder.empty()) {
      if (value) {
        auto parsed = ParseBool(*value);
        if (!parsed) return fail(name, "takes true or false");
        if (!*parsed) continue;
      }
    } else if (!value) {
      if (i + 1 >= args.size()) return fail(name, "needs a value");
      value = args[++i];
    }
    if (std::string why = spec->set(flags, value.value_or("")); !why.empty())
      return fail(name, why);
  }

  if (flags.listen_addresses.empty()) flags.listen_addresses.emplace_back(kDefaultListenAddress);
  for (const auto& entry : collectors) {
    auto it = explicit_enabled.find(entry.name);
    bool enabled =
        it != explicit_enabled.end() ? it->second : (entry.enabled_by_default && !disable_defaults);
    flags.collector_enabled[std::string(entry.name)] = enabled;
  }
  return result;
}

std::string Usage(const std::vector<CollectorEntry>& collectors) {
  std::ostringstream out;
  out << "usage: nf_conntrack_exporter [<flags>]\n\n"
         "A Prometheus exporter for the Linux conntrack table: entries, limit, drops, the\n"
         "kernel log and what fills the table. Read-only: it never changes a sysctl or an "
         "entry.\n\n"
         "Flags:\n";
  auto line = [&](std::string flag, std::string_view help, std::string_view default_text) {
    out << "  " << flag;
    if (flag.size() < 44)
      out << std::string(44 - flag.size(), ' ');
    else
      out << "\n" << std::string(46, ' ');
    out << help;
    if (!default_text.empty()) out << " (default: " << default_text << ")";
    out << "\n";
  };
  for (const auto& spec : GenericFlags()) {
    std::string flag = "--" + std::string(spec.name);
    if (!spec.placeholder.empty()) flag += "=" + std::string(spec.placeholder);
    line(flag, spec.help, spec.placeholder.empty() ? "" : spec.default_text);
  }
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
