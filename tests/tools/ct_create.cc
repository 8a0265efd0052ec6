// ct_create: a test tool that creates conntrack entries over ctnetlink (IPCTNL_MSG_CT_NEW) in the
// network namespace it runs in, hundreds per sendmsg. Used by the real-kernel tests to make known
// numbers of entries in known states and to fill a test netns to nf_conntrack_max with ASSURED
// entries (which the kernel cannot early-drop), so new flows really drop. Needs CAP_NET_ADMIN.
//
//   ct_create --count=N [--family=ipv4|ipv6] [--proto=tcp|udp|icmp] [--state=established]
//             [--status=assured|replied|unreplied] [--timeout=SECONDS] [--dport=P] [--dports=K]
//             [--src-offset=N]
//
// Entry i: source 198.18.0.0 + (src-offset + i) / 50000 (2001:db8:1:: for IPv6), source port
// 10000 + (src-offset + i) % 50000, destination 198.19.0.1 (2001:db8:2::1), destination port
// dport + i % dports. ICMP uses the echo id instead of ports. Prints "created=N failed=M" and
// the first error; exits 0 only when every entry was created.
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Options {
  long count = 0;
  int family = AF_INET;
  uint8_t proto = IPPROTO_TCP;
  int tcp_state = TCP_CONNTRACK_ESTABLISHED;
  uint32_t status = IPS_ASSURED | IPS_SEEN_REPLY;  // IPS_CONFIRMED is added when sent
  uint32_t timeout = 3600;
  long dport = 80;
  long dports = 1;
  long src_offset = 0;
};

const std::map<std::string_view, int> kTcpStates = {
    {"syn_sent", TCP_CONNTRACK_SYN_SENT},       {"syn_recv", TCP_CONNTRACK_SYN_RECV},
    {"established", TCP_CONNTRACK_ESTABLISHED}, {"fin_wait", TCP_CONNTRACK_FIN_WAIT},
    {"close_wait", TCP_CONNTRACK_CLOSE_WAIT},   {"last_ack", TCP_CONNTRACK_LAST_ACK},
    {"time_wait", TCP_CONNTRACK_TIME_WAIT},     {"close", TCP_CONNTRACK_CLOSE},
    {"syn_sent2", TCP_CONNTRACK_SYN_SENT2},
};

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr, "ct_create: %s\n", why);
  std::exit(2);
}

long Number(std::string_view text) {
  char* end = nullptr;
  std::string copy(text);
  long value = std::strtol(copy.c_str(), &end, 10);
  if (copy.empty() || *end != '\0' || value < 0) Usage("expected a number >= 0");
  return value;
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    size_t eq = arg.find('=');
    if (!arg.starts_with("--") || eq == std::string_view::npos) Usage("flags are --name=value");
    std::string_view name = arg.substr(2, eq - 2), value = arg.substr(eq + 1);
    if (name == "count") {
      o.count = Number(value);
    } else if (name == "family") {
      if (value == "ipv4")
        o.family = AF_INET;
      else if (value == "ipv6")
        o.family = AF_INET6;
      else
        Usage("--family is ipv4 or ipv6");
    } else if (name == "proto") {
      if (value == "tcp")
        o.proto = IPPROTO_TCP;
      else if (value == "udp")
        o.proto = IPPROTO_UDP;
      else if (value == "icmp")
        o.proto = IPPROTO_ICMP;
      else
        Usage("--proto is tcp, udp or icmp");
    } else if (name == "state") {
      auto it = kTcpStates.find(value);
      if (it == kTcpStates.end()) Usage("unknown --state");
      o.tcp_state = it->second;
    } else if (name == "status") {
      if (value == "assured")
        o.status = IPS_ASSURED | IPS_SEEN_REPLY;
      else if (value == "replied")
        o.status = IPS_SEEN_REPLY;
      else if (value == "unreplied")
        o.status = 0;
      else
        Usage("--status is assured, replied or unreplied");
    } else if (name == "timeout") {
      o.timeout = static_cast<uint32_t>(Number(value));
    } else if (name == "dport") {
      o.dport = Number(value);
    } else if (name == "dports") {
      o.dports = Number(value);
    } else if (name == "src-offset") {
      o.src_offset = Number(value);
    } else {
      Usage("unknown flag");
    }
  }
  if (o.count <= 0) Usage("--count=N is required");
  if (o.dports <= 0 || o.dport + o.dports > 65536) Usage("--dport/--dports out of range");
  if (o.proto == IPPROTO_ICMP && o.family == AF_INET6) o.proto = IPPROTO_ICMPV6;
  return o;
}

void PutAddresses(nlmsghdr* nlh, const Options& o, long index, bool reply) {
  nlattr* ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
  long n = o.src_offset + index;
  if (o.family == AF_INET) {
    uint32_t client = htonl((198u << 24 | 18u << 16) + static_cast<uint32_t>(n / 50000));
    uint32_t server = htonl(198u << 24 | 19u << 16 | 1u);
    mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, reply ? server : client);
    mnl_attr_put_u32(nlh, CTA_IP_V4_DST, reply ? client : server);
  } else {
    in6_addr client{}, server{};
    inet_pton(AF_INET6, "2001:db8:1::", &client);
    inet_pton(AF_INET6, "2001:db8:2::1", &server);
    uint32_t low = htonl(static_cast<uint32_t>(n / 50000));
    std::memcpy(&client.s6_addr[12], &low, 4);
    mnl_attr_put(nlh, CTA_IP_V6_SRC, 16, reply ? &server : &client);
    mnl_attr_put(nlh, CTA_IP_V6_DST, 16, reply ? &client : &server);
  }
  mnl_attr_nest_end(nlh, ip);
}

void PutTuple(nlmsghdr* nlh, const Options& o, long index, bool reply) {
  nlattr* tuple = mnl_attr_nest_start(nlh, reply ? CTA_TUPLE_REPLY : CTA_TUPLE_ORIG);
  PutAddresses(nlh, o, index, reply);
  nlattr* proto = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
  mnl_attr_put_u8(nlh, CTA_PROTO_NUM, o.proto);
  long n = o.src_offset + index;
  if (o.proto == IPPROTO_ICMP || o.proto == IPPROTO_ICMPV6) {
    bool v4 = o.proto == IPPROTO_ICMP;
    mnl_attr_put_u16(nlh, v4 ? CTA_PROTO_ICMP_ID : CTA_PROTO_ICMPV6_ID,
                     htons(static_cast<uint16_t>(n % 65536)));
    uint8_t request = v4 ? 8 : 128, answer = v4 ? 0 : 129;
    mnl_attr_put_u8(nlh, v4 ? CTA_PROTO_ICMP_TYPE : CTA_PROTO_ICMPV6_TYPE,
                    reply ? answer : request);
    mnl_attr_put_u8(nlh, v4 ? CTA_PROTO_ICMP_CODE : CTA_PROTO_ICMPV6_CODE, 0);
  } else {
    uint16_t client = htons(static_cast<uint16_t>(10000 + n % 50000));
    uint16_t server = htons(static_cast<uint16_t>(o.dport + index % o.dports));
    mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, reply ? server : client);
    mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, reply ? client : server);
  }
  mnl_attr_nest_end(nlh, proto);
  mnl_attr_nest_end(nlh, tuple);
}

void PutEntry(nlmsghdr* nlh, const Options& o, long index, uint32_t seq) {
  nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
  nlh->nlmsg_seq = seq;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = static_cast<uint8_t>(o.family);
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  PutTuple(nlh, o, index, false);
  PutTuple(nlh, o, index, true);
  mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(o.timeout));
  // The kernel marks a netlink-created entry CONFIRMED before applying CTA_STATUS and refuses
  // (EBUSY) a status that would clear that bit.
  mnl_attr_put_u32(nlh, CTA_STATUS, htonl(o.status | IPS_CONFIRMED));
  if (o.proto == IPPROTO_TCP) {
    nlattr* info = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
    nlattr* tcp = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);
    mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_STATE, static_cast<uint8_t>(o.tcp_state));
    mnl_attr_nest_end(nlh, tcp);
    mnl_attr_nest_end(nlh, info);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o = Parse(argc, argv);
  mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (nl == nullptr || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    std::perror("ct_create: netlink");
    return 1;
  }
  int rcvbuf = 8 << 20;
  setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);

  constexpr long kBatch = 256;
  std::vector<char> send_buffer(kBatch * 512);
  std::vector<char> recv_buffer(1 << 16);
  long created = 0, failed = 0;
  int first_error = 0;
  uint32_t seq = 1;
  for (long start = 0; start < o.count; start += kBatch) {
    long end = std::min(o.count, start + kBatch);
    mnl_nlmsg_batch* batch = mnl_nlmsg_batch_start(send_buffer.data(), send_buffer.size());
    for (long i = start; i < end; ++i) {
      PutEntry(mnl_nlmsg_put_header(mnl_nlmsg_batch_current(batch)), o, i, seq++);
      mnl_nlmsg_batch_next(batch);
    }
    if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(batch), mnl_nlmsg_batch_size(batch)) < 0) {
      std::perror("ct_create: sendto");
      return 1;
    }
    mnl_nlmsg_batch_stop(batch);
    // One ack (error 0) or error per message.
    long answered = 0;
    while (answered < end - start) {
      ssize_t n = mnl_socket_recvfrom(nl, recv_buffer.data(), recv_buffer.size());
      if (n < 0) {
        std::perror("ct_create: recvfrom");
        return 1;
      }
      for (auto* nlh = reinterpret_cast<nlmsghdr*>(recv_buffer.data());
           mnl_nlmsg_ok(nlh, static_cast<int>(n));
           nlh = mnl_nlmsg_next(nlh, reinterpret_cast<int*>(&n))) {
        if (nlh->nlmsg_type != NLMSG_ERROR) continue;
        auto* err = static_cast<nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
        ++answered;
        if (err->error == 0) {
          ++created;
        } else {
          ++failed;
          if (first_error == 0) first_error = -err->error;
        }
      }
    }
  }
  mnl_socket_close(nl);
  std::printf("created=%ld failed=%ld", created, failed);
  if (first_error) std::printf(" first_error=\"%s\"", std::strerror(first_error));
  std::printf("\n");
  return failed == 0 ? 0 : 3;
}
