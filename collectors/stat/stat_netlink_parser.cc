#include "collectors/stat/stat_netlink_parser.h"

#include <arpa/inet.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include <array>
#include <cerrno>
#include <utility>

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

std::string_view ColumnOf(CpuStatsKind kind, int type) {
  if (kind == CpuStatsKind::kConntrack) {
    for (const auto& [attribute, column] : kCtAttributes)
      if (attribute == type) return column;
  } else {
    for (const auto& [attribute, column] : kExpAttributes)
      if (attribute == type) return column;
  }
  return {};
}

}  // namespace

int DecodeCpuStatsMessage(const nlmsghdr* nlh, void* data) {
  auto* decoder = static_cast<CpuStatsDecoder*>(data);
  // mnl_cb_run checks the netlink header only: the nfgenmsg after it is ours to check.
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nfgenmsg)) {
    errno = EBADMSG;
    return MNL_CB_ERROR;
  }
  const auto* nfg = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh));
  auto& values = (*decoder->values)[ntohs(nfg->res_id)];
  // mnl_attr_for_each() assigns a void*, which C++ refuses: the same walk, spelled out.
  const auto* end = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
  for (auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(nfgenmsg)));
       mnl_attr_ok(attr, static_cast<int>(end - reinterpret_cast<const char*>(attr)));
       attr = static_cast<const nlattr*>(mnl_attr_next(attr))) {
    if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0) continue;
    std::string_view column = ColumnOf(decoder->kind, mnl_attr_get_type(attr));
    if (!column.empty()) values[column] = ntohl(mnl_attr_get_u32(attr));
  }
  return MNL_CB_OK;
}

StatTable CpuStatsTable(const CpuStatValues& values) {
  StatTable table;
  if (values.empty()) return table;
  std::map<std::string_view, size_t> index;
  for (const auto& [cpu, columns] : values)
    for (const auto& [column, value] : columns) index.emplace(column, 0);
  for (auto& [column, position] : index) {
    position = table.columns.size();
    table.columns.emplace_back(column);
  }
  table.rows.assign(values.rbegin()->first + 1u, std::vector<uint32_t>(table.columns.size(), 0));
  for (const auto& [cpu, columns] : values)
    for (const auto& [column, value] : columns) table.rows[cpu][index[column]] = value;
  return table;
}

}  // namespace nfct
