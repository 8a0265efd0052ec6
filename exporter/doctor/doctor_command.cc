#include "exporter/doctor/doctor_command.h"

#include <charconv>

#include "collectors/duration.h"
#include "exporter/capabilities.h"
#include "exporter/doctor/doctor_diagnose.h"
#include "exporter/doctor/doctor_gather.h"
#include "exporter/doctor/doctor_render.h"

namespace nfct::doctor {
namespace {

constexpr std::string_view kUsage =
    "usage: nf_conntrack_exporter doctor [flags]\n"
    "\n"
    "Reads the conntrack table, counters and kernel log once, and says whether conntrack\n"
    "drops packets here and what to change. It changes nothing. Exit code: 0 OK, 1 AT RISK,\n"
    "2 DROPPING, 3 bad usage.\n"
    "\n"
    "  --window=DURATION      How long to watch the drop counters (default 5s).\n"
    "  --output=FORMAT        text (default) or json.\n"
    "  --top-ports=N          Destination ports to list (default 5).\n"
    "  --web.listen-address=ADDRESS\n"
    "                         The exporter's, as given to it (default :9725): doctor says\n"
    "                         whether a scrape of its port takes a conntrack entry.\n"
    "  --collector.kmsg.source=SOURCE\n"
    "                         The kernel log to read, as for the exporter: /dev/kmsg,\n"
    "                         journald, journald:DIR or a syslog file. Default: the first\n"
    "                         of /dev/kmsg, journald, /var/log/kern.log, /var/log/messages\n"
    "                         and /var/log/syslog that can be read.\n"
    "  --no-refused           Do not load the BPF program that lists who the full table\n"
    "                         refused during the window (it needs CAP_BPF, CAP_PERFMON\n"
    "                         and kernel BTF; without them doctor says so and goes on).\n"
    "  --path.procfs=PATH     Where procfs is mounted (default /proc).\n"
    "  --path.sysfs=PATH      Where sysfs is mounted (default /sys).\n"
    "  --help                 This text.\n";

struct Options {
  std::chrono::milliseconds window{5000};
  bool json = false;
  size_t top_ports = 5;
  uint16_t scrape_port = 9725;
  std::string procfs = "/proc";
  std::string sysfs = "/sys";
  std::string log_source;  // "": the first of kDefaultLogSources that can be read
  bool help = false;
  bool refused = true;  // --no-refused: false
};

// The error for a bad argument, or "".
std::string Parse(const std::vector<std::string>& args, Options& options) {
  for (const auto& arg : args) {
    auto eq = arg.find('=');
    std::string name = arg.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (name == "--help" || name == "-h") {
      options.help = true;
    } else if (name == "--window") {
      auto window = ParseDuration(value);
      if (!window || window->count() <= 0 || *window > std::chrono::minutes(10)) {
        return "--window: a duration from 1ms to 10m such as 5s, not \"" + value + "\"";
      }
      options.window = *window;
    } else if (arg == "--no-refused") {
      options.refused = false;
    } else if (name == "--output") {
      if (value != "text" && value != "json") return "--output: text or json";
      options.json = value == "json";
    } else if (name == "--top-ports") {
      size_t n = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || ptr != value.data() + value.size() || n == 0 || n > 100) {
        return "--top-ports: a whole number from 1 to 100";
      }
      options.top_ports = n;
    } else if (name == "--web.listen-address") {
      // host:port, [v6]:port or :port, as the exporter takes it; only the port matters here.
      auto colon = value.rfind(':');
      std::string_view digits =
          colon == std::string::npos ? "" : std::string_view(value).substr(colon + 1);
      unsigned port = 0;
      auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
      if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() ||
          port == 0 || port > 65535) {
        return "--web.listen-address: host:port or :port with a port from 1 to 65535";
      }
      options.scrape_port = static_cast<uint16_t>(port);
    } else if (name == "--path.procfs" && !value.empty()) {
      options.procfs = value;
    } else if (name == "--path.sysfs" && !value.empty()) {
      options.sysfs = value;
    } else if (name == "--collector.kmsg.source" && !value.empty()) {
      options.log_source = value;
    } else {
      return "unknown argument \"" + arg + "\" (see doctor --help)";
    }
  }
  return "";
}

}  // namespace

int RunDoctor(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Options options;
  if (auto error = Parse(args, options); !error.empty()) {
    err << "nf_conntrack_exporter doctor: error: " << error << "\n";
    return kUsageError;
  }
  if (options.help) {
    out << kUsage;
    return 0;
  }
  // A binary with file capabilities (the container image) gets them only this way.
  RaisePermittedCapabilities();
  Env env{options.procfs, options.sysfs, {}, {}};
  std::string error;
  GatherInputs inputs =
      LiveInputs(env, options.window, options.top_ports, options.log_source, error);
  if (!error.empty()) {
    err << "nf_conntrack_exporter doctor: error: " << error << "\n";
    return kUsageError;
  }
  inputs.scrape_port = options.scrape_port;
  if (options.refused) inputs.refused = LiveRefused(env);
  Facts facts = Gather(std::move(inputs));
  Diagnosis diagnosis = Diagnose(facts);
  out << (options.json ? RenderJson(facts, diagnosis) : RenderText(facts, diagnosis));
  out.flush();
  return ExitCode(diagnosis.verdict);
}

}  // namespace nfct::doctor
