#include "collectors/stat/stat_netlink.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include <array>
#include <map>
#include <string_view>

#include "collectors/netlink.h"

namespace nfct {
namespace {

// Netlink attribute → the /proc column it mirrors; one vocabulary for both sources.
constexpr std::array<std::pair<int, std::string_view>, 10> kCtAttributes = {{
    {CTA_STATS_FOUND, "found"},
    {CTA_STATS_INVALID, "invalid"},
    {CTA_STATS_INSERT, "insert"},
    {CTA_STATS_INSERT_FAILED, "insert_failed"},
    {CTA_STATS_DROP, "drop"},
    {CTA_STATS_EARLY_DROP, "early_drop"},
    {CTA_STATS_ERROR, "icmp_error"},
    {CTA_STATS_SEARCH_RESTART, "search_restart"},
    {CTA_STATS_CLASH_RESOLVE, "clashres"},
    {CTA_STATS_CHAIN_TOOLONG, "chainlength"},
}};
constexpr std::array<std::pair<int, std::string_view>, 3> kExpAttributes = {{
    {CTA_STATS_EXP_NEW, "expect_new"},
    {CTA_STATS_EXP_CREATE, "expect_create"},
    {CTA_STATS_EXP_DELETE, "expect_delete"},
}};

// cpu → column → value
using PerCpu = std::map<uint16_t, std::map<std::string_view, uint32_t>>;

struct DumpContext {
  PerCpu* per_cpu;
  const std::pair<int, std::string_view>* attributes;
  size_t attribute_count;
};

int OnMessage(const nlmsghdr* nlh, void* data) {
  auto* context = static_cast<DumpContext*>(data);
  const auto* nfg = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh));
  uint16_t cpu = ntohs(nfg->res_id);
  auto& values = (*context->per_cpu)[cpu];
  // mnl_attr_for_each() assigns a void*, which C++ refuses: the same walk, spelled out.
  const auto* end = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
  for (auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(nfgenmsg)));
       mnl_attr_ok(attr, static_cast<int>(end - reinterpret_cast<const char*>(attr)));
       attr = static_cast<const nlattr*>(mnl_attr_next(attr))) {
    if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0) continue;
    int type = mnl_attr_get_type(attr);
    for (size_t i = 0; i < context->attribute_count; ++i) {
      if (context->attributes[i].first == type) {
        values[context->attributes[i].second] = ntohl(mnl_attr_get_u32(attr));
      }
    }
  }
  return MNL_CB_OK;
}

class NetlinkCpuStatsSource : public CpuStatsSource {
 public:
  explicit NetlinkCpuStatsSource(std::filesystem::path netns) : netns_(std::move(netns)) {}

  StatRead Read() override {
    StatRead result;
    NetlinkOpen opened = NetlinkSocket::Open(netns_, "netlink conntrack stats");
    if (!opened.socket) {
      result.status = std::move(opened.status);
      return result;
    }
    PerCpu per_cpu;
    DumpContext ct{&per_cpu, kCtAttributes.data(), kCtAttributes.size()};
    int error =
        opened.socket->Dump(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET_STATS_CPU, OnMessage, &ct);
    if (error != 0) {
      result.status = opened.socket->StatusFor(error);
      return result;
    }
    // Expectation counters are optional: an old kernel without them still has the rest.
    DumpContext exp{&per_cpu, kExpAttributes.data(), kExpAttributes.size()};
    opened.socket->Dump(NFNL_SUBSYS_CTNETLINK_EXP, IPCTNL_MSG_EXP_GET_STATS_CPU, OnMessage, &exp);
    if (per_cpu.empty()) {
      result.status = Status::Error("netlink conntrack stats: empty reply");
      return result;
    }
    std::map<std::string_view, bool> seen;
    for (const auto& [cpu, values] : per_cpu)
      for (const auto& [column, value] : values) seen[column] = true;
    for (const auto& [column, unused] : seen) result.table.columns.emplace_back(column);
    // Rows are indexed by CPU id; a CPU the kernel skipped (not possible) stays all zero.
    result.table.rows.assign(per_cpu.rbegin()->first + 1u,
                             std::vector<uint32_t>(result.table.columns.size(), 0));
    for (const auto& [cpu, values] : per_cpu) {
      for (size_t c = 0; c < result.table.columns.size(); ++c) {
        auto it = values.find(result.table.columns[c]);
        if (it != values.end()) result.table.rows[cpu][c] = it->second;
      }
    }
    return result;
  }

 private:
  const std::filesystem::path netns_;
};

}  // namespace

std::unique_ptr<CpuStatsSource> MakeNetlinkCpuStatsSource(std::filesystem::path netns) {
  return std::make_unique<NetlinkCpuStatsSource>(std::move(netns));
}

}  // namespace nfct
