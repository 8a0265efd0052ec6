// The one ctnetlink socket of the collectors: opened in a chosen network namespace, bound,
// closed on every path; dump requests built and run here; errno mapped to a Status through the
// errno edge of collectors/env.h. Used by stat's netlink fallback and the table dumper. Every
// request needs CAP_NET_ADMIN, raised here only around the socket's creation and each send
// (collectors/privilege.h). A socket belongs to one thread at a time (not thread safe).
#pragma once

#include <libmnl/libmnl.h>
#include <sys/time.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "collectors/collector.h"
#include "collectors/env.h"

namespace nfct {

class NetlinkSocket;

// mnl_cb_run over one received buffer, after checking that every message's length lies within
// it: libmnl 1.0.4's mnl_nlmsg_ok takes an nlmsg_len above 2^31 as a negative int, accepts it,
// and the walk then reads outside the buffer (found by fuzzing the stats decoder). A malformed
// buffer is MNL_CB_ERROR with errno EBADMSG; otherwise mnl_cb_run's result. Pure, thread safe.
int RunNetlinkCallbacks(const void* buffer, size_t size, uint32_t seq, uint32_t portid,
                        mnl_cb_t callback, void* data);

// A socket, or why there is none (status not Ok).
struct NetlinkOpen {
  std::unique_ptr<NetlinkSocket> socket;
  Status status = Status::Ok();
};

class NetlinkSocket {
 public:
  // Opens and binds a NETLINK_NETFILTER socket in `env.netns`: empty for the network namespace
  // of the calling thread, otherwise a netns file (/proc/<pid>/ns/net, /run/netns/<name>): a
  // short-lived thread setns()es into it and creates the socket there, so the caller's own
  // netns never changes; the socket keeps that netns for its life. Entering another netns needs
  // CAP_SYS_ADMIN. Replies are received through `env.syscalls`. `subject` names the requests in
  // every Status ("netlink conntrack dumps").
  static NetlinkOpen Open(const Env& env, std::string_view subject);

  ~NetlinkSocket();
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;

  // Sends an nfnetlink dump request for (subsystem, message), family AF_UNSPEC (AF_INET would
  // dump IPv4 only). Returns 0 or an errno.
  int SendDumpRequest(uint16_t subsystem, uint8_t message);

  // Sends the request and runs `callback` on every reply until NLMSG_DONE: for dumps small
  // enough to read in one go (stats). Returns 0 or an errno.
  int Dump(uint16_t subsystem, uint8_t message, mnl_cb_t callback, void* data);

  // One datagram: the byte count, or -errno (-EAGAIN after the receive timeout, -ENOSPC when it
  // did not fit). EINTR is retried.
  ssize_t Receive(char* buffer, size_t size);
  int SetReceiveTimeout(timeval timeout);  // 0 or an errno

  // The errno edge for this socket's requests: EPERM/EACCES → Unavailable(CAP_NET_ADMIN).
  Status StatusFor(int error) const;

 private:
  NetlinkSocket(mnl_socket* socket, std::string_view subject, Syscalls syscalls);
  mnl_socket* socket_;
  Syscalls syscalls_;
  std::string subject_;
  uint32_t seq_ = 0;
};

}  // namespace nfct
