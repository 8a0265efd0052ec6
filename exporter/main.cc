// nf_conntrack_exporter: parse flags → build collectors → serve until SIGTERM/SIGINT.
#include <signal.h>
#include <string.h>

#include <iostream>

#include "collectors/all.h"
#include "collectors/log.h"
#include "exporter/capabilities.h"
#include "exporter/collector_set.h"
#include "exporter/doctor/doctor_command.h"
#include "exporter/flags.h"
#include "exporter/http/http_server.h"
#include "exporter/version.h"
#include "exporter/web/systemd_socket.h"
#include "exporter/web/web_security.h"

namespace nfct {
namespace {

// SIGTERM and SIGINT are taken synchronously by sigwait(); every thread inherits this mask, so
// it is set before any thread starts.
sigset_t BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return signals;
}

std::vector<CollectorListing> Listing(const std::vector<CollectorEntry>& entries,
                                      const Flags& flags) {
  std::vector<CollectorListing> listing;
  for (const auto& entry : entries) {
    listing.push_back({std::string(entry.name), flags.collector_enabled.find(entry.name)->second,
                       std::string(entry.help)});
  }
  return listing;
}

// --web.systemd-socket: every socket systemd passed, instead of --web.listen-address (as
// exporter-toolkit does). "" or why not.
std::string ServeSystemdSockets(HttpServer& server) {
  SystemdSockets sockets = TakeSystemdSockets();
  if (!sockets.error.empty()) return "--web.systemd-socket: " + sockets.error;
  for (int fd : sockets.fds) {
    if (std::string error = server.AdoptListenSocket(fd, "systemd socket " + std::to_string(fd));
        !error.empty())
      return error;
  }
  Log(LogLevel::kInfo, "listening on systemd sockets",
      {{"count", std::to_string(sockets.fds.size())}});
  return "";
}

// Builds the collectors, serves until a stop signal, then stops everything in order.
int Serve(const std::vector<CollectorEntry>& entries, const Flags& flags) {
  ConfigureLog(flags.log_level, flags.log_format);
  // Each HTTP connection is a descriptor; the soft limit (often 1024) would cap them early.
  long files = RaiseOpenFileLimit();
  sigset_t signals = BlockStopSignals();

  // The web config first: a broken file stops the start before anything else happens.
  std::unique_ptr<WebSecurity> security;
  if (!flags.web_config_file.empty()) {
    auto loaded = WebSecurity::Load(flags.web_config_file);
    if (!loaded.security) {
      Log(LogLevel::kError, "cannot start", {{"err", loaded.error}});
      return 1;
    }
    security = std::move(loaded.security);
    Log(LogLevel::kInfo, "web config loaded",
        {{"file", flags.web_config_file}, {"settings", security->Summary()}});
  }

  Env env{flags.procfs, flags.sysfs, {}};
  auto built = BuildCollectorSet(entries, flags.collector_enabled, flags.collector_options, env,
                                 !flags.disable_exporter_metrics);
  if (!built.set) {
    std::cerr << "nf_conntrack_exporter: error: " << built.error << "\n";
    return 2;
  }
  HttpServer server(flags.http, *built.set, Listing(entries, flags),
                    security ? security->Hooks() : HttpHooks{});
  // Bound while the capabilities are still held: a port below 1024 needs CAP_NET_BIND_SERVICE.
  std::string error =
      flags.systemd_socket ? ServeSystemdSockets(server) : server.Listen(flags.listen_addresses);
  if (!error.empty()) {
    Log(LogLevel::kError, "cannot start", {{"err", error}});
    return 1;
  }
  // Before any thread starts (Listen starts none), so every thread inherits the reduced sets.
  auto caps = KeepOnlyCapabilities(NeededCapabilities(built.set->Capabilities()));
  if (!caps.error.empty()) Log(LogLevel::kWarn, "cannot drop capabilities", {{"err", caps.error}});
  error = server.Start();
  if (!error.empty()) {
    Log(LogLevel::kError, "cannot start", {{"err", error}});
    return 1;
  }
  Log(LogLevel::kInfo, "starting nf_conntrack_exporter",
      {{"version", kVersion},
       {"revision", kRevision},
       {"capabilities", caps.held},
       {"open_files_limit", std::to_string(files)}});
  built.set->Start();
  server.SetReady(true);

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  Log(LogLevel::kInfo, "shutting down", {{"signal", strsignal(signal_number)}});
  server.SetReady(false);
  server.Stop();
  built.set->Stop();
  return 0;
}

}  // namespace
}  // namespace nfct

int main(int argc, char** argv) {
  using namespace nfct;
  if (argc > 1 && std::string_view(argv[1]) == "doctor") {
    return doctor::RunDoctor(std::vector<std::string>(argv + 2, argv + argc), std::cout, std::cerr);
  }
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
  return Serve(entries, flags);
}
