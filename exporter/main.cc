// nf_conntrack_exporter: parse flags → build collectors → serve until SIGTERM/SIGINT.
#include <signal.h>
#include <string.h>

#include <iostream>

#include "collectors/all.h"
#include "collectors/log.h"
#include "exporter/capabilities.h"
#include "exporter/collector_set.h"
#include "exporter/flags.h"
#include "exporter/http_server.h"
#include "exporter/version.h"

int main(int argc, char** argv) {
  using namespace nfct;
  const auto& entries = AllCollectors();
  auto [flags, error] = ParseFlags(std::vector<std::string>(argv + 1, argv + argc), entries);
  if (!error.empty()) {
    std::cerr << "nf_conntrack_exporter: error: " << error << "\n";
    return 2;
  }
  if (flags.help) {
    std::cout << Usage(entries);
    return 0;
  }
  if (flags.version) {
    std::cout << "nf_conntrack_exporter " << kVersion << " (revision " << kRevision << ", "
              << kCompiler << ")\n";
    return 0;
  }
  ConfigureLog(flags.log_level, flags.log_format);
  // Signals are taken synchronously by sigwait below; every thread inherits this mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Env env{flags.procfs, flags.sysfs, {}};
  auto built = BuildCollectorSet(entries, flags.collector_enabled, flags.collector_options, env,
                                 !flags.disable_exporter_metrics);
  if (!built.set) {
    std::cerr << "nf_conntrack_exporter: error: " << built.error << "\n";
    return 2;
  }
  // Before any thread starts, so every thread inherits the reduced sets.
  std::vector<std::vector<Capability>> wanted;
  for (const auto& named : built.set->collectors())
    wanted.push_back(named.collector->Capabilities());
  auto caps = KeepOnlyCapabilities(NeededCapabilities(wanted));
  if (!caps.error.empty()) Log(LogLevel::kWarn, "cannot drop capabilities", {{"err", caps.error}});
  std::vector<CollectorListing> listing;
  for (const auto& entry : entries) {
    listing.push_back({std::string(entry.name), flags.collector_enabled[std::string(entry.name)],
                       std::string(entry.help)});
  }
  HttpServer server({flags.telemetry_path, flags.max_requests}, *built.set, std::move(listing));
  if (auto listen_error = server.Listen(flags.listen_addresses); !listen_error.empty()) {
    Log(LogLevel::kError, "cannot start", {{"err", listen_error}});
    return 1;
  }
  Log(LogLevel::kInfo, "starting nf_conntrack_exporter",
      {{"version", kVersion}, {"revision", kRevision}, {"capabilities", caps.held}});
  built.set->Start();
  server.Start();
  server.SetReady(true);

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  Log(LogLevel::kInfo, "shutting down", {{"signal", strsignal(signal_number)}});
  server.SetReady(false);
  server.Stop();
  built.set->Stop();
  return 0;
}
