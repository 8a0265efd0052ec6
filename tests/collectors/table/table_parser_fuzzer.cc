// libFuzzer target for the table dump decoder: any bytes must decode without a crash, an
// out-of-bounds read or undefined behaviour, and the counts must agree with the result.
// Build with clang (-fsanitize=fuzzer); run: table_parser_fuzzer CORPUS_DIR (see docs/table.md).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "collectors/table/table_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Never reset: clearing 1 MiB of port counters per input would cost more than decoding it.
  static nfct::TableCounts counts;
  uint64_t before = counts.Total();
  auto result =
      nfct::DecodeDumpReplies(std::string_view(reinterpret_cast<const char*>(data), size), counts);
  // Every decoded entry lands in exactly one gauge cell.
  if (counts.Total() - before != result.entries) std::abort();
  if (result.entries * 16 > size) std::abort();  // an entry is at least one 16-byte header
  return 0;
}
