#include "collectors/table/table_dumper.h"

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/time.h>

#include <cerrno>
#include <chrono>
#include <string_view>
#include <vector>

#include "collectors/netlink.h"
#include "collectors/table/table_parser.h"

namespace nfct {
namespace {

// The kernel sizes each dump skb after the largest recv() it has seen, capped at 32 KiB: a
// buffer at least that large, kept for the worker's lifetime, gets the fewest round trips.
constexpr size_t kReceiveBuffer = 64 * 1024;
// SO_RCVTIMEO: how often a blocked recv() looks at the stop flag.
constexpr timeval kPollInterval = {0, 200 * 1000};
// A dump that yields nothing for this long is treated as wedged.
constexpr std::chrono::seconds kStallLimit{60};

class NetlinkTableSource : public TableSource {
 public:
  explicit NetlinkTableSource(Env env) : env_(std::move(env)), buffer_(kReceiveBuffer) {}

  DumpOutcome Dump(TableCounts& counts, const std::atomic<bool>& stop) override {
    counts.Reset();
    DumpOutcome outcome;
    // A socket per dump: a dump abandoned midway ends in the kernel when it is closed.
    NetlinkOpen opened = NetlinkSocket::Open(env_, "netlink conntrack dumps");
    if (!opened.socket) return {std::move(opened.status), 0, false};
    NetlinkSocket& socket = *opened.socket;
    if (int error = socket.SetReceiveTimeout(kPollInterval)) {
      return {socket.StatusFor(error), 0, false};
    }
    if (int error = socket.SendDumpRequest(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET)) {
      return {socket.StatusFor(error), 0, false};
    }
    auto last_data = std::chrono::steady_clock::now();
    while (true) {
      if (stop.load(std::memory_order_relaxed)) return {Status::Ok(), outcome.entries, true};
      ssize_t n = socket.Receive(buffer_.data(), buffer_.size());
      if (n < 0) {
        if (n != -EAGAIN && n != -EWOULDBLOCK)
          return {socket.StatusFor(static_cast<int>(-n)), 0, false};
        if (std::chrono::steady_clock::now() - last_data > kStallLimit) {
          return {Status::Error("netlink conntrack dumps: no reply for 60 s"), 0, false};
        }
        continue;
      }
      if (n == 0) continue;
      last_data = std::chrono::steady_clock::now();
      DecodeResult decoded =
          DecodeDumpReplies(std::string_view(buffer_.data(), static_cast<size_t>(n)), counts);
      outcome.entries += decoded.entries;
      if (decoded.error != 0) return {socket.StatusFor(decoded.error), 0, false};
      if (decoded.malformed) {
        return {Status::Error("netlink conntrack dumps: malformed reply"), 0, false};
      }
      if (decoded.done) return outcome;
    }
  }

 private:
  const Env env_;
  std::vector<char> buffer_;
};

}  // namespace

std::unique_ptr<TableSource> MakeNetlinkTableSource(const Env& env) {
  return std::make_unique<NetlinkTableSource>(env);
}

}  // namespace nfct
