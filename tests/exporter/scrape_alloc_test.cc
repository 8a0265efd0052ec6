// Heap allocations of one warm scrape of the fixture collectors, counted by a replaced global
// operator new: the scrape path (WriteScrape into a reused sink and buffer) against the object
// path (Collect, then WriteExposition). Its own binary, because the replacement is global.
#include <cstdlib>
#include <iostream>
#include <new>

#include "exporter/exposition.h"
#include "exporter/self_metrics.h"
#include "tests/support/test_support.h"

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define NFCT_COUNT_ALLOCATIONS 1
namespace {
// Only the test's own thread counts, and only while it measures.
thread_local bool counting = false;
thread_local size_t allocations = 0;
}  // namespace

// GCC cannot see that these replacements pair malloc with free and warns that a delete frees
// what operator new returned (-Wmismatched-new-delete); here they are the same allocator.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  if (counting) ++allocations;
  if (void* memory = std::malloc(size == 0 ? 1 : size)) return memory;
  throw std::bad_alloc();
}
void operator delete(void* memory) noexcept { std::free(memory); }
void operator delete(void* memory, std::size_t) noexcept { std::free(memory); }
#pragma GCC diagnostic pop
#endif

namespace nfct::testing {
namespace {

#ifdef NFCT_COUNT_ALLOCATIONS
template <typename Scrape>
size_t AllocationsOf(Scrape scrape) {
  allocations = 0;
  counting = true;
  scrape();
  counting = false;
  return allocations;
}
#endif

// Takes every sample and keeps none: what the collectors allocate by themselves.
class DiscardingSink : public MetricSink {
 public:
  void Add(const FamilyDesc&, std::initializer_list<std::string_view>, double) override {}
  void Add(const FamilyDesc&, const std::vector<std::string>&, double) override {}
};

// With the exporter's own metrics, as the HTTP server serves by default.
TEST(ScrapeAllocations, AWarmScrapeAllocatesNothingBeyondTheCollectorsOwnReads) {
#ifndef NFCT_COUNT_ALLOCATIONS
  GTEST_SKIP() << "a sanitizer owns operator new in this build";
#else
  auto set = FixtureSet("healthy", /*exporter_metrics=*/true);
  // The same collectors as FixtureSet, alone.
  Env env = FixtureEnv("healthy");
  std::vector<std::unique_ptr<Collector> > alone;
  for (const auto& entry : AllCollectors()) {
    if (entry.name == "sysctl" || entry.name == "stat")
      alone.push_back(MakeCollector(entry, env).collector);
  }
  ASSERT_EQ(alone.size(), 2u);
  SelfMetrics self;
  DiscardingSink discard;
  auto collectors_alone = [&] {
    for (auto& collector : alone) collector->Collect(discard);
    self.Collect(discard);
  };
  ExpositionSink sink;
  std::string text;
  auto scrape = [&] {
    text.clear();
    set->WriteScrape(sink, text);
  };
  for (int i = 0; i < 3; ++i) {  // warm: buffers at their size, files open
    collectors_alone();
    scrape();
  }
  size_t by_collectors = AllocationsOf(collectors_alone);
  size_t by_scrape = AllocationsOf(scrape);
  size_t by_objects = AllocationsOf([&] {
    text.clear();
    WriteExposition(set->Collect(), text);
  });
  std::cout << "allocations per warm scrape: WriteScrape " << by_scrape << " (the collectors alone "
            << by_collectors << "), Collect + WriteExposition " << by_objects << "\n";
  // The sink, the collector set and the exposition text add none of their own; what is left is
  // the stat collector's table (its columns and a vector per CPU row).
  EXPECT_EQ(by_scrape, by_collectors);
  EXPECT_LE(by_scrape, 8u);
  EXPECT_GT(by_objects, by_scrape + 100);  // the object path: several per sample
#endif
}

}  // namespace
}  // namespace nfct::testing
