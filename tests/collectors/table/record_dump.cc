// record_dump: writes the raw replies of one ctnetlink table dump (IPCTNL_MSG_CT_GET,
// NLM_F_DUMP, AF_UNSPEC), every recv() buffer laid end to end, to the file named by its only
// argument ("-" for standard output). Used by tests/fixtures/table/record.sh to capture decoder
// fixtures from the real kernel, in whatever netns it runs in; with no CAP_NET_ADMIN it records the
// EPERM reply.
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include <cstdio>
#include <string_view>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: record_dump FILE\n");
    return 2;
  }
  mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (nl == nullptr || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    std::perror("record_dump: netlink");
    return 1;
  }
  std::vector<char> buffer(64 * 1024);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer.data());
  nlh->nlmsg_type = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = 1;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = AF_UNSPEC;
  nfg->version = NFNETLINK_V0;
  if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
    std::perror("record_dump: sendto");
    return 1;
  }
  std::string_view name = argv[1];
  std::FILE* out = name == "-" ? stdout : std::fopen(argv[1], "wb");
  if (out == nullptr) {
    std::perror("record_dump: open");
    return 1;
  }
  // Until NLMSG_DONE or NLMSG_ERROR: both end a dump (EPERM arrives as NLMSG_ERROR).
  bool end = false;
  while (!end) {
    ssize_t n = mnl_socket_recvfrom(nl, buffer.data(), buffer.size());
    if (n <= 0) break;
    std::fwrite(buffer.data(), 1, static_cast<size_t>(n), out);
    int left = static_cast<int>(n);
    for (auto* msg = reinterpret_cast<nlmsghdr*>(buffer.data()); mnl_nlmsg_ok(msg, left);
         msg = mnl_nlmsg_next(msg, &left)) {
      if (msg->nlmsg_type == NLMSG_DONE || msg->nlmsg_type == NLMSG_ERROR) end = true;
    }
  }
  std::fclose(out);
  mnl_socket_close(nl);
  return 0;
}
