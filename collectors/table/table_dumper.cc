#include "collectors/table/table_dumper.h"

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <string_view>
#include <vector>

#include "collectors/privilege.h"
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

Status ErrorStatus(int error) {
  if (error == EPERM || error == EACCES) {
    return Status::Unavailable("the netlink conntrack dump needs CAP_NET_ADMIN");
  }
  return Status::Error(std::string("netlink conntrack dump: ") + std::strerror(error));
}

// Closes the socket on every path; a dump abandoned midway ends in the kernel at close().
struct SocketCloser {
  void operator()(mnl_socket* socket) const { mnl_socket_close(socket); }
};
using Socket = std::unique_ptr<mnl_socket, SocketCloser>;

int SendRequest(mnl_socket* socket, uint32_t seq) {
  alignas(nlmsghdr) char request[MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(nfgenmsg))];
  nlmsghdr* nlh = mnl_nlmsg_put_header(request);
  nlh->nlmsg_type = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = seq;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = AF_UNSPEC;  // AF_INET would dump IPv4 only
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  return mnl_socket_sendto(socket, nlh, nlh->nlmsg_len) < 0 ? errno : 0;
}

class NetlinkTableSource : public TableSource {
 public:
  NetlinkTableSource() : buffer_(kReceiveBuffer) {}

  DumpOutcome Dump(TableCounts& counts, const std::atomic<bool>& stop) override {
    counts.Reset();
    DumpOutcome outcome;
    Socket socket;
    {
      // nfnetlink checks CAP_NET_ADMIN on the request, for the sender and for the socket's
      // opener (netlink_net_capable): effective for the open and the send only, not the recvs.
      ScopedCapability net_admin(Capability::kNetAdmin);
      socket.reset(mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC));
      if (!socket) return {ErrorStatus(errno), 0, false};
      int fd = mnl_socket_get_fd(socket.get());
      if (mnl_socket_bind(socket.get(), 0, MNL_SOCKET_AUTOPID) < 0 ||
          setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &kPollInterval, sizeof kPollInterval) < 0) {
        return {ErrorStatus(errno), 0, false};
      }
      if (int error = SendRequest(socket.get(), static_cast<uint32_t>(time(nullptr)))) {
        return {ErrorStatus(error), 0, false};
      }
    }
    int fd = mnl_socket_get_fd(socket.get());
    auto last_data = std::chrono::steady_clock::now();
    while (true) {
      if (stop.load(std::memory_order_relaxed)) return {Status::Ok(), outcome.entries, true};
      ssize_t n = recv(fd, buffer_.data(), buffer_.size(), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return {ErrorStatus(errno), 0, false};
        if (std::chrono::steady_clock::now() - last_data > kStallLimit) {
          return {Status::Error("netlink conntrack dump: no reply for 60 s"), 0, false};
        }
        continue;
      }
      if (n == 0) continue;
      last_data = std::chrono::steady_clock::now();
      DecodeResult decoded =
          DecodeDumpReplies(std::string_view(buffer_.data(), static_cast<size_t>(n)), counts);
      outcome.entries += decoded.entries;
      if (decoded.error != 0) return {ErrorStatus(decoded.error), 0, false};
      if (decoded.malformed) {
        return {Status::Error("netlink conntrack dump: malformed reply"), 0, false};
      }
      if (decoded.done) return outcome;
    }
  }

 private:
  std::vector<char> buffer_;
};

}  // namespace

std::unique_ptr<TableSource> MakeNetlinkTableSource() {
  return std::make_unique<NetlinkTableSource>();
}

}  // namespace nfct
