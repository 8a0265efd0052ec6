/* The few kernel types refused.bpf.c reads, declared by hand for CO-RE: libbpf relocates every
 * field access against the running kernel's BTF (/sys/kernel/btf/vmlinux) at load time, so the
 * build does not depend on the build machine's kernel and needs no generated vmlinux.h. Only the
 * fields used are declared; their offsets here do not matter. Included by refused.bpf.c only. */
#pragma once

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef int bool;

enum bpf_map_type {
  BPF_MAP_TYPE_HASH = 1,
  BPF_MAP_TYPE_PERCPU_HASH = 5,
  BPF_MAP_TYPE_PERCPU_ARRAY = 6,
  BPF_MAP_TYPE_LRU_PERCPU_HASH = 10,
};
enum { BPF_ANY = 0, BPF_NOEXIST = 1, BPF_EXIST = 2 };

/* Values are placeholders: the program asks for them with bpf_core_enum_value(). */
enum skb_drop_reason { SKB_DROP_REASON_NETFILTER_DROP = 12 };

struct ns_common {
  unsigned int inum;
} __attribute__((preserve_access_index));

struct ip_conntrack_stat {
  unsigned int invalid;
  unsigned int insert_failed;
  unsigned int drop;
} __attribute__((preserve_access_index));

struct netns_ct {
  struct ip_conntrack_stat *stat; /* __percpu */
} __attribute__((preserve_access_index));

struct net {
  struct ns_common ns;
  struct netns_ct ct;
} __attribute__((preserve_access_index));

typedef struct {
  struct net *net;
} __attribute__((preserve_access_index)) possible_net_t;

struct net_device {
  possible_net_t nd_net;
} __attribute__((preserve_access_index));

struct sock_common {
  possible_net_t skc_net;
} __attribute__((preserve_access_index));

struct sock {
  struct sock_common __sk_common;
} __attribute__((preserve_access_index));

/* A per-CPU array map as the kernel keeps it: pptrs[i] is element i's __percpu address. */
struct bpf_array {
  void *pptrs[1];
} __attribute__((preserve_access_index));

struct sk_buff {
  struct net_device *dev;
  struct sock *sk;
  unsigned long _nfct;
  unsigned char *head;
  __u16 network_header;
} __attribute__((preserve_access_index));
