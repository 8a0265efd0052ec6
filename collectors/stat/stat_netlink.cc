#include "collectors/stat/stat_netlink.h"

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "collectors/netlink.h"
#include "collectors/stat/stat_netlink_parser.h"

namespace nfct {
namespace {

class NetlinkCpuStatsSource : public CpuStatsSource {
 public:
  explicit NetlinkCpuStatsSource(Env env) : env_(std::move(env)) {}

  StatRead Read() override {
    StatRead result;
    NetlinkOpen opened = NetlinkSocket::Open(env_, "netlink conntrack stats");
    if (!opened.socket) {
      result.status = std::move(opened.status);
      return result;
    }
    CpuStatValues per_cpu;
    CpuStatsDecoder ct{&per_cpu, StatDump::kConntrack};
    int error = opened.socket->Dump(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET_STATS_CPU,
                                    DecodeCpuStatsMessage, &ct);
    if (error != 0) {
      result.status = opened.socket->StatusFor(error);
      return result;
    }
    // Expectation counters are optional: an old kernel without them still has the rest.
    CpuStatsDecoder exp{&per_cpu, StatDump::kExpectation};
    opened.socket->Dump(NFNL_SUBSYS_CTNETLINK_EXP, IPCTNL_MSG_EXP_GET_STATS_CPU,
                        DecodeCpuStatsMessage, &exp);
    if (per_cpu.empty()) {
      result.status = Status::Error("netlink conntrack stats: empty reply");
      return result;
    }
    result.table = CpuStatsTable(per_cpu);
    return result;
  }

 private:
  const Env env_;
};

}  // namespace

std::unique_ptr<CpuStatsSource> MakeNetlinkCpuStatsSource(const Env& env) {
  return std::make_unique<NetlinkCpuStatsSource>(env);
}

}  // namespace nfct
