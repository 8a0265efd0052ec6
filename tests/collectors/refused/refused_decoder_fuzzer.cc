// libFuzzer target for the refused collector's map decoder and summary: any bytes, split into
// keys and values at a point the input chooses, must decode without a crash, an out-of-bounds
// read or undefined behaviour, and the summary must keep every packet (its sum is preserved).
// Build with clang (-fsanitize=fuzzer); run: refused_decoder_fuzzer CORPUS_DIR.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "collectors/refused/refused_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 2, size - 2);
  size_t split = std::min<size_t>(data[0] * 8u, bytes.size());
  size_t top = data[1] % 8;
  std::string_view keys = bytes.substr(0, split), values = bytes.substr(split);

  auto refused = nfct::DecodeRefused(keys, values);
  auto overflow = nfct::DecodeOverflow(keys, values);
  auto stats = nfct::DecodeStats(bytes, 1 + data[1] % 4);
  if (refused && refused->size() * nfct::kRefusedKeySize != keys.size()) std::abort();
  if (!refused) return 0;

  // Sums wrap like the counters do: compare modulo 2^64.
  uint64_t expected = stats ? stats->lost : 0;
  for (const auto& count : *refused) expected += count.packets;
  std::vector<nfct::NetnsPackets> spilled =
      overflow ? *overflow : std::vector<nfct::NetnsPackets>{};
  for (const auto& netns : spilled) expected += netns.packets;
  auto series = nfct::SummariseRefused(*refused, spilled, stats ? stats->lost : 0, top);
  uint64_t sum = 0;
  for (const auto& s : series) {
    sum += s.packets;
    if (s.port != "other" && s.protocol.empty()) std::abort();  // only spills lack a protocol
  }
  if (sum != expected) std::abort();
  return 0;
}
