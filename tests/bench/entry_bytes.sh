#!/bin/bash
# Memory per conntrack entry on the running kernel (root; prints numbers, asserts nothing). The
# doctor's sizing advice multiplies entries by this. In a fresh netns of its own (the tests'
# nftables ruleset: `ct state new` on output, loopback untracked, a veth sink) it makes ENTRIES
# UDP flows with real packets and reads /proc/slabinfo before and after, for three cases:
#   plain     no extension is needed: the nf_conn object alone
#   events    a ctnetlink event listener (`conntrack -E`) runs in the netns, as conntrackd or
#             an event-based exporter would: the event extension is added to every entry
#   nat       the netns has a nat chain (masquerade on the sink): the NAT extension
# For each: entries made, slab objects added per entry and bytes per entry by cache. Caches of
# other kernel users move too (other namespaces, other tests): run it on a quiet machine or
# repeat (REPS). Nothing global is written; the netns is deleted by name on every exit path.
#
# Usage: [ENTRIES=50000] [REPS=2] tests/bench/entry_bytes.sh
set -euo pipefail
entries=${ENTRIES:-50000}
reps=${REPS:-2}
here=$(cd "$(dirname "$0")" && pwd)
ruleset="$here/../support/test_netns.nft"
ns=""
listener=""

cleanup() {
  if [ -n "$listener" ]; then kill "$listener" 2>/dev/null || true; wait "$listener" 2>/dev/null || true; fi
  listener=""
  if [ -n "$ns" ]; then ip netns del "$ns" 2>/dev/null || true; fi
  ns=""
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 77; }
for tool in ip nft conntrack python3; do
  command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 77; }
done

# active_objs and objsize of the caches that can hold conntrack memory.
snapshot() {
  awk '$1 == "nf_conntrack" || $1 ~ /^kmalloc-[0-9]+k?$/ { print $1, $2, $4 }' /proc/slabinfo
}

make_netns() {
  ns="nfct-entrybytes-$$-$1"
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n "$ns" link add sink0 type veth peer name sink1
  ip -n "$ns" addr add 198.18.0.1/15 dev sink0
  ip -n "$ns" link set sink0 up
  ip -n "$ns" neigh add 198.19.0.1 lladdr 02:00:00:00:00:01 dev sink0
  ip netns exec "$ns" nft -f "$ruleset"
}

# One UDP datagram per flow: distinct (source port, destination port) pairs to the sink.
flows() {
  ip netns exec "$ns" python3 - "$1" <<'EOF'
import socket, sys
n = int(sys.argv[1])
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range((n + 59999) // 60000)]
for i in range(n):
    socks[i // 60000].sendto(b"x", ("198.19.0.1", 1024 + i % 60000))
EOF
}

count() { ip netns exec "$ns" cat /proc/sys/net/netfilter/nf_conntrack_count; }

measure() {
  local case=$1 rep=$2
  make_netns "$case-$rep"
  case $case in
    events)
      ip netns exec "$ns" conntrack -E -e NEW >/dev/null 2>&1 &
      listener=$!
      sleep 0.5
      ;;
    nat)
      ip netns exec "$ns" nft add table ip nfct_nat
      ip netns exec "$ns" nft add chain ip nfct_nat post '{ type nat hook postrouting priority srcnat; }'
      ip netns exec "$ns" nft add rule ip nfct_nat post oif sink0 masquerade
      ;;
  esac
  local before after made
  before=$(snapshot)
  flows "$entries"
  made=$(count)
  after=$(snapshot)
  printf '%-7s rep %d: %d entries\n' "$case" "$rep" "$made"
  join <(echo "$before" | sort) <(echo "$after" | sort) | awk -v n="$made" '
    { delta = $4 - $2; if (delta * 10 >= n) printf "  %-14s objsize %5d  +%7d objects  %.2f per entry  %6.1f B per entry\n", $1, $3, delta, delta / n, delta * $3 / n }'
  cleanup
}

echo "kernel $(uname -r), $entries flows per case"
for rep in $(seq 1 "$reps"); do
  for case in plain events nat; do measure "$case" "$rep"; done
done
