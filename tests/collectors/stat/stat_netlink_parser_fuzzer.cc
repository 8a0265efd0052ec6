// libFuzzer target for the ctnetlink per-CPU stats decoder: the bytes of one recv() buffer are
// walked by RunNetlinkCallbacks as NetlinkSocket::Dump walks them, for both dumps, and the result
// is folded like a scrape. Seeded with replies recorded from a 6.18 kernel
// (tests/fixtures/stat/netlink).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "collectors/netlink.h"
#include "collectors/stat/stat_accumulator.h"
#include "collectors/stat/stat_netlink_parser.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nfct;
  // A netlink buffer is aligned as recv() fills it; the decoder reads headers in place.
  std::vector<uint64_t> aligned((size + 7) / 8);
  if (size > 0) std::memcpy(aligned.data(), data, size);
  CpuStatValues values;
  for (StatDump dump : {StatDump::kConntrack, StatDump::kExpectation}) {
    CpuStatsDecoder decoder{&values, dump};
    RunNetlinkCallbacks(aligned.data(), size, 0, 0, DecodeCpuStatsMessage, &decoder);
  }
  StatTable table = CpuStatsTable(values);
  for (const auto& row : table.rows) Check(row.size() == table.columns.size());
  if (!values.empty()) Check(table.rows.size() == values.rbegin()->first + 1u);
  StatAccumulator accumulator;
  accumulator.Update(table);
  accumulator.Update(table);
  return 0;
}
