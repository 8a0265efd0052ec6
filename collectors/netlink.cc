#include "collectors/netlink.h"

#include <fcntl.h>
#include <linux/netfilter/nfnetlink.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <thread>
#include <utility>

#include "collectors/env.h"
#include "collectors/privilege.h"

namespace nfct {
namespace {

// Creates and binds the socket in the calling thread's netns; returns it or sets `error`.
mnl_socket* OpenHere(int& error) {
  mnl_socket* socket = nullptr;
  {
    // nfnetlink checks CAP_NET_ADMIN on every request twice (netlink_net_capable): in the
    // sender's credentials and in the socket opener's, recorded here. Effective for the
    // socket() call and the send only; binding and receiving need nothing.
    ScopedCapability net_admin(Capability::kNetAdmin);
    socket = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  }
  if (socket == nullptr) {
    error = errno;
    return nullptr;
  }
  if (mnl_socket_bind(socket, 0, MNL_SOCKET_AUTOPID) < 0) {
    error = errno;
    mnl_socket_close(socket);
    return nullptr;
  }
  return socket;
}

}  // namespace

int RunNetlinkCallbacks(const void* buffer, size_t size, uint32_t seq, uint32_t portid,
                        mnl_cb_t callback, void* data) {
  const auto* bytes = static_cast<const char*>(buffer);
  for (size_t offset = 0; size - offset >= sizeof(nlmsghdr);) {
    nlmsghdr header;
    std::memcpy(&header, bytes + offset, sizeof header);
    if (header.nlmsg_len < sizeof(nlmsghdr) || header.nlmsg_len > size - offset) {
      errno = EBADMSG;
      return MNL_CB_ERROR;
    }
    offset += std::min<size_t>(MNL_ALIGN(header.nlmsg_len), size - offset);
  }
  return mnl_cb_run(buffer, size, seq, portid, callback, data);
}

NetlinkOpen NetlinkSocket::Open(const Env& env, std::string_view subject) {
  const std::filesystem::path& netns = env.netns;
  int error = 0;
  mnl_socket* socket = nullptr;
  if (netns.empty()) {
    socket = OpenHere(error);
  } else {
    int netns_fd = open(netns.c_str(), O_RDONLY | O_CLOEXEC);
    if (netns_fd < 0) {
      return {nullptr, StatusFromErrno(errno, netns, "no such network namespace", "CAP_SYS_ADMIN")};
    }
    // setns() changes only the calling thread: a thread of its own enters the netns, makes the
    // socket and ends, so no thread of the exporter ever runs in the wrong netns.
    std::thread([&] {
      ScopedCapability sys_admin(Capability::kSysAdmin);  // setns() checks it; this thread ends
      if (setns(netns_fd, CLONE_NEWNET) != 0) {
        error = errno;
        return;
      }
      socket = OpenHere(error);
    }).join();
    close(netns_fd);
    if (socket == nullptr && (error == EPERM || error == EACCES)) {
      return {nullptr, StatusFromErrno(error, netns, "", "CAP_SYS_ADMIN")};
    }
  }
  if (socket == nullptr) return {nullptr, StatusFromNetlinkErrno(error, subject)};
  return {std::unique_ptr<NetlinkSocket>(new NetlinkSocket(socket, subject, env.syscalls)),
          Status::Ok()};
}

NetlinkSocket::NetlinkSocket(mnl_socket* socket, std::string_view subject, Syscalls syscalls)
    : socket_(socket),
      syscalls_(std::move(syscalls)),
      subject_(subject),
      seq_(static_cast<uint32_t>(time(nullptr))) {}

NetlinkSocket::~NetlinkSocket() { mnl_socket_close(socket_); }

int NetlinkSocket::SendDumpRequest(uint16_t subsystem, uint8_t message) {
  alignas(nlmsghdr) char request[MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(nfgenmsg))];
  nlmsghdr* nlh = mnl_nlmsg_put_header(request);
  nlh->nlmsg_type = static_cast<uint16_t>(subsystem << 8 | message);
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = ++seq_;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = AF_UNSPEC;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  ScopedCapability net_admin(Capability::kNetAdmin);  // see OpenHere
  return mnl_socket_sendto(socket_, nlh, nlh->nlmsg_len) < 0 ? errno : 0;
}

int NetlinkSocket::Dump(uint16_t subsystem, uint8_t message, mnl_cb_t callback, void* data) {
  if (int error = SendDumpRequest(subsystem, message)) return error;
  alignas(nlmsghdr) char buffer[MNL_SOCKET_BUFFER_SIZE];
  uint32_t portid = mnl_socket_get_portid(socket_);
  while (true) {
    ssize_t n = Receive(buffer, sizeof buffer);
    if (n < 0) return static_cast<int>(-n);
    int rc = RunNetlinkCallbacks(buffer, static_cast<size_t>(n), seq_, portid, callback, data);
    if (rc == MNL_CB_ERROR) return errno ? errno : EPROTO;
    if (rc == MNL_CB_STOP) return 0;
  }
}

// mnl_socket_recvfrom's checks, through the Env's recvmsg, with EINTR retried: a signal that
// interrupts a receive is no failure of the dump.
ssize_t NetlinkSocket::Receive(char* buffer, size_t size) {
  while (true) {
    sockaddr_nl from{};
    iovec iov{buffer, size};
    msghdr message{};
    message.msg_name = &from;
    message.msg_namelen = sizeof from;
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    ssize_t n = syscalls_.recvmsg(mnl_socket_get_fd(socket_), &message, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (message.msg_flags & MSG_TRUNC) return -ENOSPC;
    if (message.msg_namelen != sizeof from) return -EINVAL;
    return n;
  }
}

int NetlinkSocket::SetReceiveTimeout(timeval timeout) {
  return setsockopt(mnl_socket_get_fd(socket_), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) <
                 0
             ? errno
             : 0;
}

Status NetlinkSocket::StatusFor(int error) const { return StatusFromNetlinkErrno(error, subject_); }

}  // namespace nfct
