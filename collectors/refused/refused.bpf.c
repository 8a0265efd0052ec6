// SPDX-License-Identifier: GPL-2.0
/* Counts the packets a full conntrack table refuses, by (netns, protocol, destination port).
 * Attached to tp_btf/kfree_skb: on these kernels fentry/fexit loads are refused, and the drop
 * itself is the one place that sees every refused packet once. Conntrack has no drop reason of
 * its own: a refusal is a NETFILTER_DROP free of a packet without a conntrack entry (_nfct == 0)
 * during which this CPU's per-netns `drop` counter moved while `invalid` and `insert_failed` did
 * not (table full bumps only `drop`; an invalid packet bumps both; a clash bumps insert_failed).
 * Compiled by clang -target bpf, embedded as a bpftool skeleton (refused_loader.cc). */
// The kernel types first: libbpf's headers use them and include none themselves.
#include "collectors/refused/refused_core.h"
// clang-format off
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
// clang-format on

#include "collectors/refused/refused_abi.h"

char LICENSE[] SEC("license") = "GPL";

/* max_entries of "refused" is set by the loader before load (--collector.refused.map-size). */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, struct nfct_refused_key);
  __type(value, __u64);
} refused SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, __u64);
} overflow SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, NFCT_REFUSED_STAT_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);
  __type(value, struct nfct_refused_history);
} history SEC(".maps");

/* This CPU's per-CPU offset. net->ct.stat is a __percpu address whose BTF carries no percpu
 * tag (bpf_this_cpu_ptr() refuses it), and without CONFIG_KALLSYMS_ALL neither this_cpu_off nor
 * __per_cpu_offset resolves as a ksym. Our own per-CPU array gives it: a lookup returns this
 * CPU's copy of element 0, the map keeps that element's __percpu address; the difference is the
 * offset, on every architecture. Turning pointers into numbers needs CAP_PERFMON at load. */
static __always_inline unsigned long Address(void *pointer) {
  /* The verifier tracks a pointer's type through C casts and forbids arithmetic on some (a map);
   * read back through the stack it is a plain number. */
  unsigned long address = 0;
  bpf_probe_read_kernel(&address, sizeof(address), &pointer);
  return address;
}

static __always_inline unsigned long ThisCpuOffset(void) {
  __u32 zero = 0;
  void *mine = bpf_map_lookup_elem(&stats, &zero);
  if (!mine) return 0;
  struct bpf_array *array = (void *)Address(&stats);
  unsigned long base = 0;
  if (bpf_probe_read_kernel(&base, sizeof(base), &array->pptrs[0]) || !base) return 0;
  return Address(mine) - base;
}

static __always_inline void Bump(__u32 index) {
  __u64 *value = bpf_map_lookup_elem(&stats, &index);
  if (value) *value += 1; /* per-CPU slot: no other writer */
}

/* Adds one to map[key]; false when the key is new and the map is full. */
static __always_inline bool AddOne(void *map, const void *key) {
  __u64 one = 1;
  __u64 *count = bpf_map_lookup_elem(map, key);
  if (!count) {
    if (bpf_map_update_elem(map, key, &one, BPF_NOEXIST) == 0) return 1;
    /* Another CPU created it meanwhile, or the map is full: one more lookup tells which. */
    count = bpf_map_lookup_elem(map, key);
    if (!count) return 0;
  }
  __sync_fetch_and_add(count, 1);
  return 1;
}

/* The original direction's destination: the refused packet is the first of its flow. */
static __always_inline void ReadTuple(struct sk_buff *skb, struct nfct_refused_key *key) {
  unsigned char *network = BPF_CORE_READ(skb, head) + BPF_CORE_READ(skb, network_header);
  __u8 first = 0;
  __u32 transport = 0;
  if (bpf_probe_read_kernel(&first, 1, network)) return;
  if ((first >> 4) == 4) {
    __u16 frag = 0;
    key->family = 4;
    bpf_probe_read_kernel(&key->protocol, 1, network + 9);
    bpf_probe_read_kernel(&frag, 2, network + 6);
    if (frag & bpf_htons(0x1fff)) return; /* a later fragment carries no ports */
    transport = (first & 0x0f) * 4;
  } else if ((first >> 4) == 6) {
    /* Extension headers are not walked: such packets count under their next header, port 0. */
    key->family = 6;
    bpf_probe_read_kernel(&key->protocol, 1, network + 6);
    transport = 40;
  } else {
    return;
  }
  switch (key->protocol) {
    case 6:   /* tcp */
    case 17:  /* udp */
    case 33:  /* dccp */
    case 132: /* sctp */
    case 136: /* udplite */ {
      __be16 dport = 0;
      if (bpf_probe_read_kernel(&dport, 2, network + transport + 2) == 0) {
        key->dport = bpf_ntohs(dport);
      }
      break;
    }
    default:
      break;
  }
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(nfct_refused_kfree_skb, struct sk_buff *skb, void *location,
             enum skb_drop_reason reason) {
  if (reason != bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NETFILTER_DROP)) {
    return 0;
  }
  Bump(NFCT_REFUSED_STAT_NETFILTER_DROPS);

  /* Incoming and forwarded packets have a device; locally sent ones, at LOCAL_OUT, a socket. */
  struct net *net = 0;
  struct net_device *dev = BPF_CORE_READ(skb, dev);
  if (dev) {
    net = BPF_CORE_READ(dev, nd_net.net);
  } else {
    struct sock *sk = BPF_CORE_READ(skb, sk);
    if (sk) net = BPF_CORE_READ(sk, __sk_common.skc_net.net);
  }
  if (!net) return 0;
  __u32 netns = BPF_CORE_READ(net, ns.inum);

  struct ip_conntrack_stat *percpu = BPF_CORE_READ(net, ct.stat);
  if (!percpu) return 0; /* conntrack not set up in this netns */
  unsigned long offset = ThisCpuOffset();
  if (!offset) return 0;
  struct ip_conntrack_stat *mine = (void *)((unsigned long)percpu + offset);
  struct nfct_refused_history now = {
      .drop = BPF_CORE_READ(mine, drop),
      .invalid = BPF_CORE_READ(mine, invalid),
      .insert_failed = BPF_CORE_READ(mine, insert_failed),
      .valid = 1,
  };

  struct nfct_refused_history *last = bpf_map_lookup_elem(&history, &netns);
  if (!last) {
    bpf_map_update_elem(&history, &netns, &now, BPF_NOEXIST);
    if (!BPF_CORE_READ(skb, _nfct)) Bump(NFCT_REFUSED_STAT_NO_HISTORY);
    return 0;
  }
  struct nfct_refused_history before = *last;
  *last = now; /* this CPU's slot */
  if (!before.valid) {
    if (!BPF_CORE_READ(skb, _nfct)) Bump(NFCT_REFUSED_STAT_NO_HISTORY);
    return 0;
  }
  if (BPF_CORE_READ(skb, _nfct) || now.drop == before.drop) return 0; /* not conntrack's drop */
  if (now.invalid != before.invalid || now.insert_failed != before.insert_failed) {
    Bump(NFCT_REFUSED_STAT_AMBIGUOUS);
    return 0;
  }

  struct nfct_refused_key key = {.netns = netns};
  ReadTuple(skb, &key);
  /* Bounded maps, nothing lost: a full "refused" spills into this netns's "overflow" count,
   * and a full "overflow" into the global LOST count. */
  if (!AddOne(&refused, &key) && !AddOne(&overflow, &netns)) Bump(NFCT_REFUSED_STAT_LOST);
  return 0;
}
