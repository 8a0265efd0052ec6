#include "exporter/doctor/doctor_command.h"

#include <cstdlib>
#include <sstream>

#include "collectors/all.h"
#include "collectors/duration.h"
#include "collectors/text.h"
#include "exporter/capabilities.h"
#include "exporter/doctor/doctor_diagnose.h"
#include "exporter/doctor/doctor_gather.h"
#include "exporter/doctor/doctor_render.h"
#include "exporter/flags.h"

namespace nfct::doctor {
namespace {

constexpr std::string_view kIntro =
    "usage: nf_conntrack_exporter doctor [flags]\n"
    "\n"
    "Reads the conntrack table, counters and kernel log once, and says whether conntrack\n"
    "drops packets here and what to change. It changes nothing. Exit code: 0 OK, 1 AT RISK,\n"
    "2 DROPPING, 3 bad usage. The flags it shares with the exporter take the exporter's\n"
    "values: of --web.listen-address (the last one, when repeated) it uses the port, to say\n"
    "whether a scrape of it takes a conntrack entry.\n"
    "\n"
    "Flags:\n";

// The exporter's flags fill SharedFlags; doctor's own are below.
struct Options : SharedFlags {
  std::chrono::milliseconds window{5000};
  bool json = false;
  size_t top_ports = 5;
  uint16_t scrape_port = 9725;
  std::string log_source;  // "": the first of kDefaultLogSources that can be read
  bool refused = true;     // --no-refused: false
};

// --collector.kmsg.source as the kmsg collector declares it; only the default differs.
const CollectorOption& KmsgSourceOption() {
  for (const auto& entry : AllCollectors()) {
    if (entry.name != "kmsg") continue;
    for (const auto& option : entry.options) {
      if (option.name == "source") return option;
    }
  }
  std::abort();  // the kmsg collector lost its source option: a programming error
}

std::string_view DefaultLogSourcesText() {
  static const std::string kText = [] {
    std::string text = "the first of";
    for (auto source : kDefaultLogSources) text += " " + std::string(source) + ",";
    text.back() = ' ';
    return text + "that can be read";
  }();
  return kText;
}

// Doctor's table: the shared rows, then its own. A new doctor flag is one more row.
const std::vector<FlagSpec<Options>>& DoctorFlags() {
  static const std::vector<FlagSpec<Options>> kSpecs = {
      {"window", "DURATION", "5s", "How long to watch the drop counters, from 1ms to 10m.",
       [](Options& o, std::string_view v) {
         auto window = ParseDuration(v);
         if (!window || window->count() <= 0 || *window > std::chrono::minutes(10)) {
           return std::string("must be a duration from 1ms to 10m such as 5s");
         }
         o.window = *window;
         return std::string();
       }},
      {"output", "FORMAT", "text", "Report format: text or json.",
       [](Options& o, std::string_view v) {
         if (v != "text" && v != "json") return std::string("must be text or json");
         o.json = v == "json";
         return std::string();
       }},
      {"top-ports", "N", "5", "Destination ports to list.",
       [](Options& o, std::string_view v) {
         WholeNumber n = ParseWholeNumber(v, 1, 100);
         if (n.error.empty()) o.top_ports = static_cast<size_t>(n.value);
         return n.error;
       }},
      SharedFlag<Options>("web.listen-address"),
      {"collector.kmsg.source", "SOURCE", DefaultLogSourcesText(), KmsgSourceOption().help,
       [](Options& o, std::string_view v) {
         // Checked where the source is made (MakeLogSource), as the exporter checks it.
         if (v.empty()) return std::string("must name a source");
         o.log_source = v;
         return std::string();
       }},
      {"no-refused", "", "false",
       "Do not load the BPF program that lists who the full table refused during the window "
       "(it needs CAP_BPF, CAP_PERFMON and kernel BTF; without them doctor says so and goes "
       "on).",
       [](Options& o, std::string_view) {
         o.refused = false;
         return std::string();
       }},
      SharedFlag<Options>("path.procfs"),
      SharedFlag<Options>("path.sysfs"),
      SharedFlag<Options>("help"),
  };
  return kSpecs;
}

// The port of the last --web.listen-address (host:port, [v6]:port or :port), or an error.
std::string TakeScrapePort(Options& options) {
  if (options.listen_addresses.empty()) return "";
  std::string_view address = options.listen_addresses.back();
  auto port = ParseInteger<uint16_t>(address.substr(address.rfind(':') + 1));
  if (!port || *port == 0) {
    return "--web.listen-address: must be host:port or :port with a port from 1 to 65535";
  }
  options.scrape_port = *port;
  return "";
}

// The error for a bad argument, or "".
std::string Parse(const std::vector<std::string>& args, Options& options) {
  std::string error = ParseCommandLine(args, Bind(DoctorFlags(), options), "doctor --help");
  return error.empty() ? TakeScrapePort(options) : error;
}

std::string Usage() {
  std::ostringstream out;
  out << kIntro;
  Options unused;  // the rows are only read here, never set
  WriteFlagLines(out, Bind(DoctorFlags(), unused));
  return out.str();
}

}  // namespace

int RunDoctor(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Options options;
  if (auto error = Parse(args, options); !error.empty()) {
    err << "nf_conntrack_exporter doctor: error: " << error << "\n";
    return kUsageError;
  }
  if (options.help) {
    out << Usage();
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
