// Table tests of the /dev/kmsg record parser: the header of every kernel must be accepted, and
// malformed records rejected with their reason.
#include "collectors/kmsg/kmsg_record.h"

#include <gtest/gtest.h>

namespace nfct {
namespace {

struct RecordCase {
  std::string_view data;
  uint32_t prio;
  uint64_t seq;
  uint64_t ts_usec;
  std::string_view text;
};

TEST(ParseKmsgRecord, AcceptsHeadersOfEveryKernel) {
  const RecordCase kAccept[] = {
      // 6.18, real record
      {"4,339,585401705,-;nf_conntrack: nf_conntrack: table full in netns 4026532177, dropping "
       "packet\n",
       4, 339, 585401705,
       "nf_conntrack: nf_conntrack: table full in netns 4026532177, dropping packet"},
      // 3.5 had no flags field
      {"4,12,345;ip_conntrack: table full, dropping packet.\n", 4, 12, 345,
       "ip_conntrack: table full, dropping packet."},
      // 5.1+ with CONFIG_PRINTK_CALLER; unknown fields are ignored
      {"6,1,2,-,caller=T123,future=x;hello\n", 6, 1, 2, "hello"},
      // continuation lines carry device data
      {"5,335,1260958,-;virtio_blk virtio1: [vda] new size\n SUBSYSTEM=virtio\n "
       "DEVICE=+virtio:virtio1\n",
       5, 335, 1260958, "virtio_blk virtio1: [vda] new size"},
      {"12,7,8,-;spoofed;with;semicolons\n", 12, 7, 8, "spoofed;with;semicolons"},
      {"0,18446744073709551615,0,-;\n", 0, 18446744073709551615u, 0, ""},
  };
  for (const auto& c : kAccept) {
    KmsgParse parse = ParseKmsgRecord(c.data);
    ASSERT_TRUE(parse.ok()) << c.data << ": " << static_cast<int>(parse.error);
    EXPECT_EQ(parse.record.prio, c.prio) << c.data;
    EXPECT_EQ(parse.record.seq, c.seq) << c.data;
    EXPECT_EQ(parse.record.ts_usec, c.ts_usec) << c.data;
    EXPECT_EQ(parse.record.text, c.text) << c.data;
  }
}

TEST(ParseKmsgRecord, RejectsMalformedRecords) {
  const std::pair<std::string_view, KmsgError> kReject[] = {
      {"", KmsgError::kEmpty},
      {"4,339,585401705,-nf_conntrack: table full, dropping packet\n", KmsgError::kNoSemicolon},
      {"4,339,585401705,-", KmsgError::kNoSemicolon},
      {"x,1,2,-;text\n", KmsgError::kBadPrio},
      {",1,2,-;text\n", KmsgError::kBadPrio},
      {"-4,1,2,-;text\n", KmsgError::kBadPrio},
      {"2048,1,2,-;text\n", KmsgError::kBadPrio},
      {"99999999999,1,2,-;text\n", KmsgError::kBadPrio},
      {"4;text\n", KmsgError::kBadSeq},
      {"4,,2,-;text\n", KmsgError::kBadSeq},
      {"4,1a,2,-;text\n", KmsgError::kBadSeq},
      {"4,18446744073709551616,2,-;text\n", KmsgError::kBadSeq},
      {"4,1;text\n", KmsgError::kBadTimestamp},
      {"4,1,,-;text\n", KmsgError::kBadTimestamp},
      {"4,1,2x,-;text\n", KmsgError::kBadTimestamp},
      {"4,1,2,-;nf_conntrack: nf_conntrack: table full, dropping packet", KmsgError::kTruncated},
  };
  for (const auto& [data, error] : kReject) {
    EXPECT_EQ(ParseKmsgRecord(data).error, error) << data;
  }
}

}  // namespace
}  // namespace nfct
