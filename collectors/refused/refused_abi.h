/* The layout of the refused collector's BPF maps, shared by the BPF program (refused.bpf.c, C)
 * and the user-space decoder (refused_decoder.cc, C++). Plain fixed-width types only, so both
 * compilers lay them out alike; the decoder checks sizes instead of trusting them. */
#pragma once

#ifdef __cplusplus
#include <cstdint>
typedef uint8_t nfct_u8;
typedef uint16_t nfct_u16;
typedef uint32_t nfct_u32;
typedef uint64_t nfct_u64;
#else
typedef __u8 nfct_u8;
typedef __u16 nfct_u16;
typedef __u32 nfct_u32;
typedef __u64 nfct_u64;
#endif

/* Key of map "refused": one (netns, protocol, destination port) the full table refused.
 * dport is in host byte order; 0 for protocols without ports. Value: a u64 packet count. */
struct nfct_refused_key {
  nfct_u32 netns; /* net->ns.inum, as `readlink /proc/<pid>/ns/net` */
  nfct_u16 dport;
  nfct_u8 protocol; /* IPPROTO_* of the original direction */
  nfct_u8 family;   /* 4 or 6 */
};

/* Map "overflow": key u32 netns, value u64 packets refused while "refused" was full. */

/* Map "stats", a per-CPU array of u64 indexed by these. */
enum nfct_refused_stat {
  NFCT_REFUSED_STAT_LOST = 0,            /* refused while "refused" and "overflow" were both full */
  NFCT_REFUSED_STAT_NO_HISTORY = 1,      /* a conntrack drop seen first on this CPU and netns */
  NFCT_REFUSED_STAT_AMBIGUOUS = 2,       /* drop moved together with invalid/insert_failed */
  NFCT_REFUSED_STAT_NETFILTER_DROPS = 3, /* every NETFILTER_DROP free examined */
  NFCT_REFUSED_STAT_COUNT = 4,
};

/* Map "history", an LRU per-CPU hash keyed by u32 netns: this CPU's conntrack counters of that
 * netns at the last NETFILTER_DROP free the program saw there (or as user space seeded them from
 * /proc/<pid>/net/stat/nf_conntrack). valid == 0: this CPU's slot was never written. */
struct nfct_refused_history {
  nfct_u32 drop;
  nfct_u32 invalid;
  nfct_u32 insert_failed;
  nfct_u32 valid;
};
