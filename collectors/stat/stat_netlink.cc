#include "collectors/stat/stat_netlink.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <string_view>

#include "collectors/privilege.h"

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

// Runs one dump request; returns 0 or an errno.
int Dump(mnl_socket* socket, uint16_t subsystem, uint8_t message, DumpContext context) {
  alignas(nlmsghdr) char buffer[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer);
  nlh->nlmsg_type = static_cast<uint16_t>(subsystem << 8 | message);
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = static_cast<uint32_t>(time(nullptr));
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = AF_UNSPEC;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  uint32_t seq = nlh->nlmsg_seq;
  {
    // nfnetlink checks CAP_NET_ADMIN on the request, for the sender and the socket's opener.
    ScopedCapability net_admin(Capability::kNetAdmin);
    if (mnl_socket_sendto(socket, nlh, nlh->nlmsg_len) < 0) return errno;
  }
  uint32_t portid = mnl_socket_get_portid(socket);
  while (true) {
    ssize_t n = mnl_socket_recvfrom(socket, buffer, sizeof buffer);
    if (n < 0) return errno;
    int rc = mnl_cb_run(buffer, static_cast<size_t>(n), seq, portid, OnMessage, &context);
    if (rc == MNL_CB_ERROR) return errno ? errno : EPROTO;
    if (rc == MNL_CB_STOP) return 0;
  }
}

class NetlinkCpuStatsSource : public CpuStatsSource {
 public:
  StatRead Read() override {
    StatRead result;
    mnl_socket* socket = nullptr;
    {
      ScopedCapability net_admin(Capability::kNetAdmin);  // the opener is checked too
      socket = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
    }
    if (socket == nullptr) {
      result.status = Status::Error(std::string("netlink socket: ") + std::strerror(errno));
      return result;
    }
    PerCpu per_cpu;
    int error = 0;
    if (mnl_socket_bind(socket, 0, MNL_SOCKET_AUTOPID) < 0) {
      error = errno;
    } else {
      error = Dump(socket, NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET_STATS_CPU,
                   {&per_cpu, kCtAttributes.data(), kCtAttributes.size()});
      // Expectation counters are optional: an old kernel without them still has the rest.
      if (error == 0) {
        Dump(socket, NFNL_SUBSYS_CTNETLINK_EXP, IPCTNL_MSG_EXP_GET_STATS_CPU,
             {&per_cpu, kExpAttributes.data(), kExpAttributes.size()});
      }
    }
    mnl_socket_close(socket);
    if (error == EPERM || error == EACCES) {
      result.status = Status::Unavailable("netlink conntrack stats need CAP_NET_ADMIN");
      return result;
    }
    if (error != 0) {
      result.status =
          Status::Error(std::string("netlink conntrack stats: ") + std::strerror(error));
      return result;
    }
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
};

}  // namespace

std::unique_ptr<CpuStatsSource> MakeNetlinkCpuStatsSource() {
  return std::make_unique<NetlinkCpuStatsSource>();
}

}  // namespace nfct
