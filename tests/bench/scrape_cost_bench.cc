// What one scrape costs without HTTP, on the running kernel: the default collectors, built as
// the exporter builds them, each alone and then all together, scraped as the HTTP server does
// (CollectorSet::WriteScrape: samples written into the exposition text), and once more through
// prometheus-cpp objects (Collect, then WriteExposition) for comparison, for SECONDS each; the
// calling thread's CPU split into user and kernel time (getrusage RUSAGE_THREAD; background workers
// are not counted). The kernel time is what the reads themselves cost: no user-space change removes
// it while every value is read on every scrape. tests/bench/serving_bench.sh runs it in its netns
// beside the HTTP numbers. Last, what gzip (exporter/http/gzip.h) adds on the whole body.
//   scrape_cost_bench [SECONDS]   (default 3 per row; root for the netlink collectors)
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "collectors/all.h"
#include "exporter/collector_set.h"
#include "exporter/exposition.h"
#include "exporter/http/gzip.h"

namespace nfct {
namespace {

double Seconds(const timeval& t) {
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

struct Cost {
  double user_us = 0;
  double system_us = 0;
};

// Runs `scrape` for `seconds` of wall time and returns the calling thread's CPU per call. The
// kernel splits a thread's time into user and system by sampling at each tick, so the run must
// span hundreds of ticks for the split to mean anything.
template <typename Scrape>
Cost Measure(double seconds, Scrape scrape) {
  for (int i = 0; i < 20; ++i) scrape();  // warm: files opened, buffers grown
  rusage before{}, after{};
  getrusage(RUSAGE_THREAD, &before);
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  double calls = 0;
  while (std::chrono::steady_clock::now() < end) {
    for (int i = 0; i < 100; ++i) scrape();
    calls += 100;
  }
  getrusage(RUSAGE_THREAD, &after);
  return {(Seconds(after.ru_utime) - Seconds(before.ru_utime)) / calls * 1e6,
          (Seconds(after.ru_stime) - Seconds(before.ru_stime)) / calls * 1e6};
}

void Print(const std::string& what, const Cost& cost) {
  std::printf("| %-38s | %8.1f | %8.1f | %8.1f |\n", what.c_str(), cost.user_us, cost.system_us,
              cost.user_us + cost.system_us);
}

std::unique_ptr<CollectorSet> Build(const std::map<std::string, bool, std::less<>>& enabled,
                                    bool exporter_metrics) {
  Env env;
  auto built = BuildCollectorSet(AllCollectors(), enabled, {}, env, exporter_metrics);
  if (!built.set) {
    std::fprintf(stderr, "scrape_cost_bench: %s\n", built.error.c_str());
    std::exit(1);
  }
  built.set->Start();
  return std::move(built.set);
}

}  // namespace
}  // namespace nfct

int main(int argc, char** argv) {
  using namespace nfct;
  double seconds = argc > 1 ? std::atof(argv[1]) : 3;
  if (seconds <= 0) {
    std::fprintf(stderr, "usage: scrape_cost_bench [SECONDS]\n");
    return 2;
  }
  std::map<std::string, bool, std::less<>> defaults;
  for (const auto& entry : AllCollectors()) defaults[std::string(entry.name)] = false;

  std::printf("CPU per scrape without HTTP, %.0f s of scrapes per row (us):\n", seconds);
  std::printf("| %-38s | %8s | %8s | %8s |\n", "what", "user", "kernel", "total");
  std::printf("|----------------------------------------|----------|----------|----------|\n");
  for (const auto& entry : AllCollectors()) {
    if (!entry.enabled_by_default) continue;
    auto enabled = defaults;
    enabled[std::string(entry.name)] = true;
    auto set = Build(enabled, false);
    // Background collectors (table, netns) serve a snapshot: give the first one time to land.
    std::this_thread::sleep_for(std::chrono::seconds(2));
    ExpositionSink sink;
    std::string text;
    Print("collector " + std::string(entry.name), Measure(seconds, [&] {
            text.clear();
            set->WriteScrape(sink, text);
          }));
    set->Stop();
  }
  auto enabled = defaults;
  for (const auto& entry : AllCollectors())
    enabled[std::string(entry.name)] = entry.enabled_by_default;
  auto set = Build(enabled, true);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ExpositionSink sink;
  std::string text;
  Print("all defaults + exporter metrics", Measure(seconds, [&] {
          text.clear();
          set->WriteScrape(sink, text);
        }));
  Print("the same, as prometheus-cpp objects", Measure(seconds, [&] {
          text.clear();
          WriteExposition(set->Collect(), text);
        }));
  // What the gzip scrape adds (exporter/http/gzip.h), on the body just written.
  text.clear();
  set->WriteScrape(sink, text);
  GzipCompressor gzip;
  std::string compressed;
  size_t compressed_bytes = 0;
  Print("gzip of that body (libdeflate level 1)",
        Measure(seconds, [&] { compressed_bytes = gzip.Compress(text, compressed); }));
  std::printf("exposition bytes: %zu, gzip: %zu\n", text.size(), compressed_bytes);
  set->Stop();
  return 0;
}
