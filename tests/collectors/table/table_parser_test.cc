// Decoder tests: recorded kernel replies (tests/fixtures/table) against counts derived from how
// the entries were made, and synthetic messages for the cases a test netns cannot produce.
#include "collectors/table/table_parser.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>

#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>

#include "collectors/env.h"

namespace nfct {
namespace {

const std::string kFixtures = NFCT_TABLE_FIXTURES;

std::string Fixture(const std::string& name) {
  FileRead file = ReadFile(kFixtures + "/" + name, 16 << 20);
  EXPECT_TRUE(file.ok()) << name;
  return file.data;
}

// Every (family, protocol, state) cell as labels → count.
using Grid = std::map<std::tuple<std::string, std::string, std::string>, uint64_t>;
using Ports = std::map<std::pair<std::string, std::string>, uint64_t>;

Grid GridOf(const TableCounts& counts) {
  Grid grid;
  for (size_t f = 0; f < kTableFamilies; ++f)
    for (size_t p = 0; p < kTableProtocols; ++p)
      for (size_t s = 0; s < StateCount(p); ++s)
        if (uint64_t n = counts.Entries(f, p, s)) {
          grid[{std::string(FamilyLabel(f)), std::string(ProtocolLabel(p)),
                std::string(StateLabel(p, s))}] = n;
        }
  return grid;
}

Ports PortsOf(const TableCounts& counts) {
  Ports ports;
  for (size_t slot = 0; slot < kPortProtocols; ++slot) {
    for (const auto& [port, n] : counts.Top(slot, 65536).top) {
      ports[{std::string(ProtocolLabel(PortSlotProtocol(slot))), std::to_string(port)}] = n;
    }
  }
  return ports;
}

// mixed.expected: "family protocol state count" and "port protocol port count" lines.
std::pair<Grid, Ports> Expected(const std::string& name) {
  std::istringstream in(Fixture(name));
  Grid grid;
  Ports ports;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::string a, b, c;
    uint64_t n = 0;
    words >> a >> b >> c >> n;
    if (a == "port") {
      ports[{b, c}] = n;
    } else {
      grid[{a, b, c}] = n;
    }
  }
  return {grid, ports};
}

TEST(TableParserFixture, MixedDumpMatchesTheEntriesThatWereMade) {
  // "tcp 6 118 TIME_WAIT src=198.18.0.0 dst=198.19.0.1 sport=10000 dport=80 ..." ×120 and more
  TableCounts counts;
  DecodeResult result = DecodeDumpReplies(Fixture("mixed.bin"), counts);
  EXPECT_TRUE(result.done);
  EXPECT_EQ(result.error, 0);
  EXPECT_FALSE(result.malformed);
  EXPECT_EQ(result.entries, 401u);
  EXPECT_EQ(result.undecodable, 0u);
  auto [grid, ports] = Expected("mixed.expected");
  EXPECT_EQ(GridOf(counts), grid);
  EXPECT_EQ(PortsOf(counts), ports);
}

TEST(TableParserFixture, MessageByMessageEqualsAllAtOnce) {
  // The dumper hands over one recv() at a time; any cut at a message boundary must agree.
  std::string bytes = Fixture("mixed.bin");
  TableCounts whole, pieces;
  DecodeDumpReplies(bytes, whole);
  uint64_t entries = 0;
  bool done = false;
  for (size_t at = 0; at < bytes.size();) {
    nlmsghdr header;
    std::memcpy(&header, bytes.data() + at, sizeof header);
    size_t step = NLMSG_ALIGN(header.nlmsg_len);
    DecodeResult r = DecodeDumpReplies(std::string_view(bytes).substr(at, step), pieces);
    entries += r.entries;
    done = done || r.done;
    at += step;
  }
  EXPECT_EQ(entries, 401u);
  EXPECT_TRUE(done);
  EXPECT_EQ(GridOf(pieces), GridOf(whole));
  EXPECT_EQ(PortsOf(pieces), PortsOf(whole));
}

TEST(TableParserFixture, EmptyNetnsIsJustDone) {
  TableCounts counts;
  DecodeResult result = DecodeDumpReplies(Fixture("empty.bin"), counts);
  EXPECT_TRUE(result.done);
  EXPECT_EQ(result.entries, 0u);
  EXPECT_EQ(result.error, 0);
}

TEST(TableParserFixture, WithoutCapNetAdminTheKernelSaysEperm) {
  TableCounts counts;
  DecodeResult result = DecodeDumpReplies(Fixture("eperm.bin"), counts);
  EXPECT_EQ(result.error, EPERM);
  EXPECT_EQ(result.entries, 0u);
}

TEST(TableParserFixture, EveryTruncationIsSafeAndNeverOvercounts) {
  std::string bytes = Fixture("mixed.bin");
  TableCounts counts;
  for (size_t cut = 0; cut < 4096; cut += 7) {
    counts.Reset();
    DecodeResult r = DecodeDumpReplies(std::string_view(bytes).substr(0, cut), counts);
    EXPECT_LE(r.entries, 401u);
    EXPECT_EQ(counts.Total(), r.entries);
    EXPECT_FALSE(r.done);
  }
}

// Builds one dump reply message the way ctnetlink lays it out.
struct Synthetic {
  uint8_t family = AF_INET;
  std::optional<uint8_t> protocol = IPPROTO_TCP;
  std::optional<uint16_t> dport = 80;
  std::optional<uint8_t> tcp_state;
  std::optional<uint32_t> status;
  uint16_t message_type = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_NEW;
};

std::string Message(const Synthetic& s) {
  alignas(nlmsghdr) char buffer[1024] = {};
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer);
  nlh->nlmsg_type = s.message_type;
  nlh->nlmsg_flags = NLM_F_MULTI;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = s.family;
  nlattr* tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
  nlattr* ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
  mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, htonl(0xc6120001));
  mnl_attr_nest_end(nlh, ip);
  nlattr* proto = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
  if (s.protocol) mnl_attr_put_u8(nlh, CTA_PROTO_NUM, *s.protocol);
  mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(40000));
  if (s.dport) mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(*s.dport));
  mnl_attr_nest_end(nlh, proto);
  mnl_attr_nest_end(nlh, tuple);
  if (s.status) mnl_attr_put_u32(nlh, CTA_STATUS, htonl(*s.status));
  if (s.tcp_state) {
    nlattr* info = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
    nlattr* tcp = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);
    mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_STATE, *s.tcp_state);
    mnl_attr_nest_end(nlh, tcp);
    mnl_attr_nest_end(nlh, info);
  }
  return std::string(buffer, nlh->nlmsg_len);
}

std::string Control(uint16_t type, int32_t value) {
  alignas(nlmsghdr) char buffer[64] = {};
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer);
  nlh->nlmsg_type = type;
  auto* payload = static_cast<int32_t*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nlmsgerr)));
  *payload = value;
  return std::string(buffer, nlh->nlmsg_len);
}

struct AcceptCase {
  const char* what;
  Synthetic message;
  const char* family;
  const char* protocol;
  const char* state;
  uint64_t port_count_80;  // entries counted on port 80 of the protocol (when it has ports)
};

TEST(TableParserSynthetic, Accepts) {
  const AcceptCase kCases[] = {
      {"tcp time_wait",
       {AF_INET, IPPROTO_TCP, 80, TCP_CONNTRACK_TIME_WAIT, IPS_ASSURED},
       "ipv4",
       "tcp",
       "time_wait",
       1},
      {"tcp syn_sent2 is state 9",
       {AF_INET6, IPPROTO_TCP, 80, 9, 0},
       "ipv6",
       "tcp",
       "syn_sent2",
       1},
      {"tcp without protoinfo is none",
       {AF_INET, IPPROTO_TCP, 80, {}, {}},
       "ipv4",
       "tcp",
       "none",
       1},
      {"tcp state out of range is none",
       {AF_INET, IPPROTO_TCP, 80, 42, {}},
       "ipv4",
       "tcp",
       "none",
       1},
      {"udp assured",
       {AF_INET, IPPROTO_UDP, 80, {}, IPS_ASSURED | IPS_SEEN_REPLY},
       "ipv4",
       "udp",
       "assured",
       1},
      {"udp replied",
       {AF_INET6, IPPROTO_UDP, 80, {}, IPS_SEEN_REPLY | IPS_CONFIRMED},
       "ipv6",
       "udp",
       "replied",
       1},
      {"udp without status is unreplied",
       {AF_INET, IPPROTO_UDP, 80, {}, {}},
       "ipv4",
       "udp",
       "unreplied",
       1},
      {"sctp", {AF_INET, IPPROTO_SCTP, 80, {}, IPS_ASSURED}, "ipv4", "sctp", "assured", 1},
      {"dccp", {AF_INET6, IPPROTO_DCCP, 80, {}, 0}, "ipv6", "dccp", "unreplied", 1},
      {"gre has no ports",
       {AF_INET, IPPROTO_GRE, {}, {}, IPS_SEEN_REPLY},
       "ipv4",
       "gre",
       "replied",
       0},
      {"icmpv6", {AF_INET6, IPPROTO_ICMPV6, {}, {}, 0}, "ipv6", "icmpv6", "unreplied", 0},
      {"udplite is other", {AF_INET, IPPROTO_UDPLITE, 80, {}, 0}, "ipv4", "other", "unreplied", 0},
      {"no protocol number is other", {AF_INET, {}, 80, {}, 0}, "ipv4", "other", "unreplied", 0},
      {"tcp without port counts on port 0",
       {AF_INET, IPPROTO_TCP, {}, 3, 0},
       "ipv4",
       "tcp",
       "established",
       0},
      {"CT_GET message type",
       {AF_INET, IPPROTO_TCP, 80, 3, 0, NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET},
       "ipv4",
       "tcp",
       "established",
       1},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.what);
    TableCounts counts;
    DecodeResult r = DecodeDumpReplies(Message(c.message) + Control(NLMSG_DONE, 0), counts);
    EXPECT_EQ(r.entries, 1u);
    EXPECT_TRUE(r.done);
    Grid expected = {{{c.family, c.protocol, c.state}, 1}};
    EXPECT_EQ(GridOf(counts), expected);
    int slot = PortSlot(ProtocolFromNumber(c.message.protocol.value_or(255)));
    if (slot >= 0) {
      auto top = counts.Top(static_cast<size_t>(slot), 65536).top;
      uint64_t on_80 = 0;
      for (const auto& pc : top)
        if (pc.port == 80) on_80 = pc.count;
      EXPECT_EQ(on_80, c.port_count_80);
    }
  }
}

TEST(TableParserSynthetic, Rejects) {
  std::string good = Message({});
  std::string short_len = good;
  uint32_t bad_len = 8;  // shorter than a netlink header
  std::memcpy(short_len.data(), &bad_len, 4);
  std::string long_len = good;
  uint32_t too_long = static_cast<uint32_t>(good.size() + 100);
  std::memcpy(long_len.data(), &too_long, 4);
  const std::pair<const char*, std::string> kMalformed[] = {
      {"less than a header", good.substr(0, 10)},
      {"length below the header size", short_len},
      {"length past the end", long_len},
  };
  for (const auto& [what, bytes] : kMalformed) {
    SCOPED_TRACE(what);
    TableCounts counts;
    DecodeResult r = DecodeDumpReplies(bytes, counts);
    EXPECT_TRUE(r.malformed);
    EXPECT_EQ(r.entries, 0u);
    EXPECT_EQ(counts.Total(), 0u);
  }
}

TEST(TableParserSynthetic, ControlMessages) {
  TableCounts counts;
  Synthetic unknown_family;
  unknown_family.family = AF_BRIDGE;
  Synthetic other_subsystem;
  other_subsystem.message_type = NFNL_SUBSYS_CTNETLINK_EXP << 8;
  DecodeResult r = DecodeDumpReplies(Control(NLMSG_NOOP, 0) + Message(unknown_family) +
                                         Message(other_subsystem) + Message({}) +
                                         Control(NLMSG_DONE, -EINTR) + Message({}),
                                     counts);
  EXPECT_EQ(r.entries, 1u);      // the one after DONE is not read
  EXPECT_EQ(r.undecodable, 1u);  // AF_BRIDGE
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.error, EINTR);  // a dump that failed midway
  counts.Reset();
  r = DecodeDumpReplies(Control(NLMSG_ERROR, 0), counts);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.error, 0);
  r = DecodeDumpReplies(Control(NLMSG_ERROR, -ENOBUFS), counts);
  EXPECT_EQ(r.error, ENOBUFS);
  // Found by the fuzzer: DONE carrying INT_MIN (negating it was undefined behaviour).
  r = DecodeDumpReplies(Control(NLMSG_DONE, INT32_MIN), counts);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.error, EPROTO);
  r = DecodeDumpReplies(Control(NLMSG_ERROR, -5000), counts);
  EXPECT_EQ(r.error, EPROTO);
}

TEST(TableParserSynthetic, TruncatedAttributesStillCountTheEntry) {
  std::string message = Message({AF_INET, IPPROTO_UDP, 53, {}, IPS_ASSURED});
  // Claim an attribute runs past the message: the walk stops, the entry counts as "other".
  nlattr first;
  std::memcpy(&first, message.data() + NLMSG_HDRLEN + 4, sizeof first);
  first.nla_len = 0xfff0;
  std::memcpy(message.data() + NLMSG_HDRLEN + 4, &first, sizeof first);
  TableCounts counts;
  DecodeResult r = DecodeDumpReplies(message, counts);
  EXPECT_EQ(r.entries, 1u);
  Grid expected = {{{"ipv4", "other", "unreplied"}, 1}};
  EXPECT_EQ(GridOf(counts), expected);
}

}  // namespace
}  // namespace nfct
