// The refused collector without a kernel: the map decoder (a must-accept and a must-reject
// table), the summary into bounded series, the options, and the collector over a fixed source
// and the netns fixture root (labels joined) with golden output (tests/golden/refused.prom).
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <cstring>

#include "collectors/refused/refused_abi.h"
#include "collectors/refused/refused_collector.h"
#include "exporter/collector_set.h"
#include "tests/support/test_support.h"

namespace nfct {
namespace {

using namespace std::chrono_literals;

std::string Bytes(const void* data, size_t size) {
  return std::string(static_cast<const char*>(data), size);
}
std::string KeyBytes(uint32_t netns, uint8_t protocol, uint16_t port, uint8_t family = 4) {
  nfct_refused_key key{netns, port, protocol, family};
  return Bytes(&key, sizeof key);
}
std::string U64(uint64_t value) { return Bytes(&value, 8); }
std::string U32(uint32_t value) { return Bytes(&value, 4); }

TEST(RefusedDecoder, DecodesTheRefusedMap) {
  // Two records as the loader reads them: key bytes back to back, values back to back.
  auto decoded = DecodeRefused(KeyBytes(4026532301, 17, 53) + KeyBytes(4026531840, 6, 443, 6),
                               U64(7) + U64(1));
  ASSERT_TRUE(decoded);
  ASSERT_EQ(decoded->size(), 2u);
  EXPECT_EQ((*decoded)[0].key, (RefusedKey{4026532301, 53, 17, 4}));
  EXPECT_EQ((*decoded)[0].packets, 7u);
  EXPECT_EQ((*decoded)[1].key, (RefusedKey{4026531840, 443, 6, 6}));
  EXPECT_EQ((*decoded)[1].packets, 1u);
  EXPECT_EQ(DecodeRefused("", "")->size(), 0u);  // an empty map
}

TEST(RefusedDecoder, RejectsRecordsThatDoNotPairUp) {
  const struct {
    std::string keys, values;
  } kReject[] = {
      {KeyBytes(1, 17, 53).substr(0, 7), U64(1)},  // a short key
      {KeyBytes(1, 17, 53), U64(1) + "x"},         // a short value
      {KeyBytes(1, 17, 53), ""},                   // a key without its value
      {KeyBytes(1, 17, 53), U64(1) + U64(2)},      // a value without its key
  };
  for (const auto& bad : kReject) {
    EXPECT_FALSE(DecodeRefused(bad.keys, bad.values))
        << bad.keys.size() << " key bytes, " << bad.values.size() << " value bytes";
  }
  EXPECT_FALSE(DecodeOverflow(U32(1), U64(1) + U64(1)));
  EXPECT_FALSE(DecodeOverflow(U32(1) + "ab", U64(1)));
}

TEST(RefusedDecoder, DecodesOverflowAndSumsStatsOverCpus) {
  auto overflow = DecodeOverflow(U32(10) + U32(11), U64(5) + U64(6));
  ASSERT_TRUE(overflow);
  ASSERT_EQ(overflow->size(), 2u);
  EXPECT_EQ((*overflow)[1].netns, 11u);
  EXPECT_EQ((*overflow)[1].packets, 6u);

  // Per index, one u64 per CPU (2 CPUs): lost, no_history, ambiguous, netfilter_drops.
  std::string stats = U64(1) + U64(2) + U64(3) + U64(4) + U64(0) + U64(5) + U64(100) + U64(1);
  auto summed = DecodeStats(stats, 2);
  ASSERT_TRUE(summed);
  EXPECT_EQ(summed->lost, 3u);
  EXPECT_EQ(summed->no_history, 7u);
  EXPECT_EQ(summed->ambiguous, 5u);
  EXPECT_EQ(summed->netfilter_drops, 101u);
  EXPECT_FALSE(DecodeStats(stats, 3));  // sized for 2 CPUs
  EXPECT_FALSE(DecodeStats(stats, 0));
  EXPECT_FALSE(DecodeStats(stats.substr(1), 2));
}

TEST(RefusedDecoder, EncodesHistoryAsTheProgramReadsIt) {
  std::string bytes = EncodeHistory({{5, 6, 7}, {0xfffffff0, 0, 1}});
  ASSERT_EQ(bytes.size(), 2 * kRefusedHistorySize);
  nfct_refused_history cpu1;
  std::memcpy(&cpu1, bytes.data() + kRefusedHistorySize, sizeof cpu1);
  EXPECT_EQ(cpu1.drop, 0xfffffff0u);
  EXPECT_EQ(cpu1.invalid, 0u);
  EXPECT_EQ(cpu1.insert_failed, 1u);
  EXPECT_EQ(cpu1.valid, 1u);  // a seeded slot counts as history
}

TEST(RefusedDecoder, NamesProtocols) {
  EXPECT_EQ(ProtocolName(6), "tcp");
  EXPECT_EQ(ProtocolName(17), "udp");
  EXPECT_EQ(ProtocolName(132), "sctp");
  EXPECT_EQ(ProtocolName(33), "dccp");
  EXPECT_EQ(ProtocolName(1), "icmp");
  EXPECT_EQ(ProtocolName(250), "250");
  EXPECT_TRUE(ProtocolHasPorts(33));
  EXPECT_FALSE(ProtocolHasPorts(1));
}

uint64_t Sum(const std::vector<RefusedSeries>& series) {
  uint64_t sum = 0;
  for (const auto& s : series) sum += s.packets;
  return sum;
}

TEST(RefusedSummary, TopKeysKeepSeriesTheRestSumIntoOther) {
  std::vector<RefusedCount> counts = {
      {{1, 53, 17, 4}, 100}, {{1, 53, 17, 6}, 50},  // one port over IPv4 and IPv6: one series
      {{1, 80, 6, 4}, 90},   {{1, 81, 6, 4}, 3},
      {{1, 82, 6, 4}, 2},    {{2, 0, 1, 4}, 4},  // icmp: no port
  };
  auto series = SummariseRefused(counts, {{1, 9}}, 5, 2);
  EXPECT_EQ(Sum(series), 100u + 50 + 90 + 3 + 2 + 4 + 9 + 5);
  std::vector<std::tuple<uint32_t, std::string, std::string, uint64_t>> got;
  for (const auto& s : series) got.emplace_back(s.netns, s.protocol, s.port, s.packets);
  EXPECT_EQ(got, (decltype(got){
                     {0, "", "other", 5},  // lost: both maps were full
                     {1, "", "other", 9},  // overflow of netns 1
                     {1, "tcp", "80", 90},
                     {1, "tcp", "other", 5},
                     {1, "udp", "53", 150},
                     {2, "icmp", "", 4},
                 }));
}

TEST(RefusedSummary, TiesAreBrokenByKeySoTheChoiceIsStable) {
  std::vector<RefusedCount> counts = {{{1, 9, 17, 4}, 5}, {{1, 7, 17, 4}, 5}, {{1, 8, 17, 4}, 5}};
  auto series = SummariseRefused(counts, {}, 0, 1);
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0].port, "7");
  EXPECT_EQ(series[1].port, "other");
  EXPECT_EQ(series[1].packets, 10u);
  EXPECT_TRUE(SummariseRefused({}, {}, 0, 10).empty());
}

TEST(RefusedOptions, TypedFromTheDeclarations) {
  auto check = [](const OptionValues& given) {
    return CollectorOptions::Check("refused", RefusedCollectorOptions(), given);
  };
  auto checked = check({{"top", "3"}, {"map-size", "16"}, {"interval", "5s"}});
  ASSERT_EQ(checked.error, "");
  RefusedOptions options = RefusedOptionsFrom(checked.options);
  EXPECT_EQ(options.top, 3u);
  EXPECT_EQ(options.map_size, 16u);
  EXPECT_EQ(options.interval, 5s);
  // The declared defaults are the struct's own.
  RefusedOptions defaults = RefusedOptionsFrom(check({}).options);
  EXPECT_EQ(defaults.top, RefusedOptions{}.top);
  EXPECT_EQ(defaults.map_size, RefusedOptions{}.map_size);
  EXPECT_EQ(defaults.interval, RefusedOptions{}.interval);
  const std::pair<std::string, std::string> kReject[] = {
      {"top", "-1"},      {"top", "x"},        {"top", "100001"},
      {"top", "3\n"},     {"map-size", "0"},   {"map-size", "2000000"},
      {"interval", "0s"}, {"interval", "soon"}};
  for (const auto& [option, value] : kReject) {
    EXPECT_TRUE(
        check({{option, value}}).error.starts_with("--collector.refused." + option + ": must be "))
        << option << "=" << value;
  }
}

// The program's maps as fixed bytes: two namespaces of the netns fixture (labels joined) and
// one the walk does not know, an overflow and lost packets.
class FixedSource : public RefusedSource {
 public:
  RefusedRead ReadMaps() const override {
    RefusedRead read;
    read.bytes.cpus = 2;
    read.bytes.refused_keys = KeyBytes(4026532301, 17, 53) + KeyBytes(4026532301, 6, 443) +
                              KeyBytes(4026532310, 6, 5432) + KeyBytes(4026599999, 132, 3868) +
                              KeyBytes(4026532301, 1, 0);
    read.bytes.refused_values = U64(120) + U64(31) + U64(7) + U64(2) + U64(4);
    read.bytes.refused_entries = 5;
    read.bytes.overflow_keys = U32(4026532310);
    read.bytes.overflow_values = U64(11);
    for (uint64_t v : {1, 0, 2, 1, 0, 3, 900, 100}) read.bytes.stats += U64(v);
    return read;
  }
  bool Seed(uint32_t netns, const std::string& history) const override {
    seeded.emplace_back(netns, history);
    return true;
  }
  size_t cpus() const override { return 2; }
  mutable std::vector<std::pair<uint32_t, std::string>> seeded;
};

// Enters nothing: bind-mounted namespaces stay unread, as for an exporter without setns.
class NoEnterer : public NetnsEnterer {
 public:
  std::vector<FileRead> ReadStat(const std::vector<std::string>& paths) override {
    return std::vector<FileRead>(paths.size(), FileRead{"", EPERM});
  }
};

std::unique_ptr<RefusedCollector> FixtureCollector(
    RefusedLoaded loaded, std::vector<std::pair<uint32_t, std::string>>* seeds_at_load = nullptr) {
  auto shared = std::make_shared<RefusedLoaded>(std::move(loaded));
  auto load = [shared, seeds_at_load](const std::vector<std::pair<uint32_t, std::string>>& seeds) {
    if (seeds_at_load) *seeds_at_load = seeds;
    return std::move(*shared);
  };
  return std::make_unique<RefusedCollector>(testing::FixtureEnv("netns"),
                                            RefusedOptions{30s, 3, 64}, load,
                                            std::make_unique<NoEnterer>());
}

TEST(RefusedCollector, GoldenExposition) {
  std::vector<std::pair<uint32_t, std::string>> seeds;
  auto collector = FixtureCollector({std::make_unique<FixedSource>(), Status::Ok()}, &seeds);
  ASSERT_TRUE(collector->Load().ok());
  // Every namespace the walk read (a process's stat file, 2 CPU rows) is seeded at load.
  EXPECT_FALSE(seeds.empty());
  for (const auto& [netns, bytes] : seeds) {
    EXPECT_EQ(bytes.size() % kRefusedHistorySize, 0u) << netns;
  }
  collector->RunOnce();
  std::vector<CollectorSet::Named> named;
  named.push_back({"refused", std::move(collector)});
  CollectorSet set(std::move(named), testing::FrozenClock(), false);
  testing::ExpectGolden("refused", prometheus::TextSerializer().Serialize(set.Collect()));
}

TEST(RefusedCollector, UnavailableUntilLoadedAndSaysWhy) {
  auto collector = FixtureCollector(
      {nullptr, Status::Unavailable("loading the BPF program needs CAP_BPF and CAP_PERFMON")});
  EXPECT_EQ(collector->Load().reason(), "loading the BPF program needs CAP_BPF and CAP_PERFMON");
  collector->RunOnce();  // nothing to read: no crash, no output
  FamilySink sink;
  Status status = collector->Collect(sink);
  EXPECT_EQ(status.code(), Status::Code::kUnavailable);
  EXPECT_NE(status.reason().find("CAP_PERFMON"), std::string::npos);
  EXPECT_TRUE(sink.Take().empty());
  EXPECT_EQ(collector->Capabilities()[0], Capability::kBpf);
}

}  // namespace
}  // namespace nfct
