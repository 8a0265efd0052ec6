#include "collectors/stat/stat_netlink_parser.h"

#include <arpa/inet.h>
#include <linux/netfilter/nfnetlink.h>

#include <cerrno>

namespace nfct {

int DecodeCpuStatsMessage(const nlmsghdr* nlh, void* data) {
  auto* decoder = static_cast<CpuStatsDecoder*>(data);
  // mnl_cb_run checks the netlink header only: the nfgenmsg after it is ours to check.
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nfgenmsg)) {
    errno = EBADMSG;
    return MNL_CB_ERROR;
  }
  const auto* nfg = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh));
  // res_id is the CPU; one beyond any kernel's NR_CPUS would make a table of 65536 rows.
  uint16_t cpu = ntohs(nfg->res_id);
  if (cpu >= kMaxCpus) {
    errno = EBADMSG;
    return MNL_CB_ERROR;
  }
  auto& values = (*decoder->values)[cpu];
  // mnl_attr_for_each() assigns a void*, which C++ refuses: the same walk, spelled out.
  const auto* end = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
  for (auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(nfgenmsg)));
       mnl_attr_ok(attr, static_cast<int>(end - reinterpret_cast<const char*>(attr)));
       attr = static_cast<const nlattr*>(mnl_attr_next(attr))) {
    if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0) continue;
    int type = mnl_attr_get_type(attr);
    // Columns use the /proc header vocabulary: one table for both sources.
    for (const auto& counter : StatCounters()) {
      if (counter.dump == decoder->dump && counter.attribute == type) {
        values[counter.column] = ntohl(mnl_attr_get_u32(attr));
      }
    }
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
