#include "collectors/refused/refused_decoder.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <tuple>

#include "collectors/refused/refused_abi.h"

namespace nfct {
namespace {

static_assert(sizeof(nfct_refused_key) == kRefusedKeySize);
static_assert(sizeof(nfct_refused_history) == kRefusedHistorySize);
static_assert(NFCT_REFUSED_STAT_COUNT == kRefusedStatCount);

// Map bytes are in the host's order (the BPF program runs on this CPU); memcpy, not a cast,
// because the loader's buffers carry no alignment promise.
template <typename T>
T Load(std::string_view bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

bool Pairs(std::string_view keys, size_t key_size, std::string_view values, size_t value_size) {
  return keys.size() % key_size == 0 && values.size() % value_size == 0 &&
         keys.size() / key_size == values.size() / value_size;
}

}  // namespace

std::optional<std::vector<RefusedCount>> DecodeRefused(std::string_view keys,
                                                       std::string_view values) {
  if (!Pairs(keys, kRefusedKeySize, values, 8)) return std::nullopt;
  std::vector<RefusedCount> out(keys.size() / kRefusedKeySize);
  for (size_t i = 0; i < out.size(); ++i) {
    auto raw = Load<nfct_refused_key>(keys, i * kRefusedKeySize);
    out[i].key = {raw.netns, raw.dport, raw.protocol, raw.family};
    out[i].packets = Load<uint64_t>(values, i * 8);
  }
  return out;
}

std::optional<std::vector<NetnsPackets>> DecodeOverflow(std::string_view keys,
                                                        std::string_view values) {
  if (!Pairs(keys, 4, values, 8)) return std::nullopt;
  std::vector<NetnsPackets> out(keys.size() / 4);
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = {Load<uint32_t>(keys, i * 4), Load<uint64_t>(values, i * 8)};
  }
  return out;
}

std::optional<RefusedStats> DecodeStats(std::string_view values, size_t cpus) {
  if (cpus == 0 || values.size() != kRefusedStatCount * cpus * 8) return std::nullopt;
  std::array<uint64_t, kRefusedStatCount> sums{};
  for (size_t index = 0; index < kRefusedStatCount; ++index) {
    for (size_t cpu = 0; cpu < cpus; ++cpu) {
      sums[index] += Load<uint64_t>(values, (index * cpus + cpu) * 8);
    }
  }
  return RefusedStats{sums[NFCT_REFUSED_STAT_LOST], sums[NFCT_REFUSED_STAT_NO_HISTORY],
                      sums[NFCT_REFUSED_STAT_AMBIGUOUS], sums[NFCT_REFUSED_STAT_NETFILTER_DROPS]};
}

std::string EncodeHistory(const std::vector<CpuCounters>& per_cpu) {
  std::string bytes(per_cpu.size() * kRefusedHistorySize, '\0');
  for (size_t cpu = 0; cpu < per_cpu.size(); ++cpu) {
    nfct_refused_history value{per_cpu[cpu].drop, per_cpu[cpu].invalid, per_cpu[cpu].insert_failed,
                               1};
    std::memcpy(bytes.data() + cpu * kRefusedHistorySize, &value, sizeof(value));
  }
  return bytes;
}

std::string ProtocolName(uint8_t protocol) {
  switch (protocol) {
    case 1:
      return "icmp";
    case 6:
      return "tcp";
    case 17:
      return "udp";
    case 33:
      return "dccp";
    case 47:
      return "gre";
    case 58:
      return "icmpv6";
    case 132:
      return "sctp";
    case 136:
      return "udplite";
  }
  return std::to_string(protocol);
}

bool ProtocolHasPorts(uint8_t protocol) {
  return protocol == 6 || protocol == 17 || protocol == 33 || protocol == 132 || protocol == 136;
}

std::vector<RefusedSeries> SummariseRefused(std::vector<RefusedCount> refused,
                                            const std::vector<NetnsPackets>& overflow,
                                            uint64_t lost, size_t top) {
  auto order = [](const RefusedKey& k) {
    return std::tuple(k.netns, k.protocol, k.port, k.family);
  };
  // IPv4 and IPv6 of one port are one series: merge before ranking.
  std::sort(refused.begin(), refused.end(), [&](const RefusedCount& a, const RefusedCount& b) {
    return order(a.key) < order(b.key);
  });
  std::vector<RefusedCount> merged;
  for (const auto& count : refused) {
    RefusedKey key = count.key;
    key.family = 0;
    if (!ProtocolHasPorts(key.protocol)) key.port = 0;
    if (!merged.empty() && merged.back().key == key) {
      merged.back().packets += count.packets;
    } else {
      merged.push_back({key, count.packets});
    }
  }
  std::stable_sort(merged.begin(), merged.end(), [](const RefusedCount& a, const RefusedCount& b) {
    return a.packets > b.packets;
  });

  // (netns, protocol, port) → packets; a std::map keeps the output sorted.
  std::map<std::tuple<uint32_t, std::string, std::string>, uint64_t> series;
  for (size_t i = 0; i < merged.size(); ++i) {
    const RefusedKey& key = merged[i].key;
    std::string protocol = ProtocolName(key.protocol);
    std::string port = !ProtocolHasPorts(key.protocol) ? ""
                       : i < top                       ? std::to_string(key.port)
                                                       : "other";
    series[{key.netns, protocol, port}] += merged[i].packets;
  }
  for (const auto& spilled : overflow) series[{spilled.netns, "", "other"}] += spilled.packets;
  if (lost > 0) series[{0, "", "other"}] += lost;

  std::vector<RefusedSeries> out;
  out.reserve(series.size());
  for (auto& [key, packets] : series) {
    out.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), packets});
  }
  return out;
}

}  // namespace nfct
