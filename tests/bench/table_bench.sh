#!/bin/bash
# Benchmark of the table collector (root; prints numbers, asserts nothing). For each size, a
# fresh test netns gets that many TCP entries in mixed states (ct_create over ctnetlink), then
# table_bench alternates the collector's dump with a raw count-only dump and measures RSS growth,
# and `conntrack -L > /dev/null` is timed in the same netns.
#
# !!! Sizes above the global nf_conntrack_max (262144 by default) need a higher max while the
# !!! entries are created: this script then WRITES THE GLOBAL net.netfilter.nf_conntrack_max,
# !!! only for the seconds ct_create runs, and restores it right after and on every exit path
# !!! (EXIT/INT/TERM/HUP trap; not on SIGKILL). Buckets are never touched. Entries already in
# !!! the table stay when max is lowered again, so the dumps run with the original max.
#
# FOREIGN_NETNS=K first fills K other netns with 250000 entries each (below max, no global
# change): every dump then also walks their entries in the shared hash, which is what a host
# exporter pays for its pods' tables. SIZE 0 measures that walk alone. REPS=N (default 3).
#
# Usage: [REPS=N] [FOREIGN_NETNS=K] tests/bench/table_bench.sh BUILD_DIR [SIZE...]
#        (default sizes: 100000 1000000)
set -euo pipefail
build=${1:?usage: table_bench.sh BUILD_DIR [SIZE...]}
shift
sizes=("${@:-100000 1000000}")
[ $# -eq 0 ] && sizes=(100000 1000000)
reps=${REPS:-3}
max_path=/proc/sys/net/netfilter/nf_conntrack_max
original_max=$(cat "$max_path")
ns=""
foreign=()

cleanup() {
  for other in "${foreign[@]}"; do ip netns del "$other" 2>/dev/null || true; done
  if [ "$(cat "$max_path")" != "$original_max" ]; then
    echo "$original_max" > "$max_path"
    echo "!!! RESTORED global nf_conntrack_max=$original_max" >&2
  fi
  if [ -n "$ns" ]; then ip netns del "$ns" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

create() {  # create COUNT STATE OFFSET
  ip netns exec "$ns" "$build/tests/ct_create" --count="$1" --state="$2" --src-offset="$3" \
    --dport=1000 --dports=1000 --timeout=3600 > /dev/null
}

fill() {  # fill SIZE: 40% established, 30% time_wait, 10% syn_sent, 10% close_wait, 5% fin_wait, 5% last_ack
  local size=$1 off=0 n
  if [ "$size" -gt "$original_max" ]; then
    echo "!!! RAISING global nf_conntrack_max from $original_max to $((size + 1000)) while creating entries" >&2
    echo $((size + 1000)) > "$max_path"
  fi
  [ "$size" -eq 0 ] && return 0
  for spec in established:40 time_wait:30 syn_sent:10 close_wait:10 fin_wait:5 last_ack:5; do
    n=$((size * ${spec#*:} / 100))
    create "$n" "${spec%:*}" "$off"
    off=$((off + n))
  done
  if [ "$(cat "$max_path")" != "$original_max" ]; then
    echo "$original_max" > "$max_path"
    echo "!!! RESTORED global nf_conntrack_max=$original_max" >&2
  fi
}

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"${2:-%.4f}\", $1 }"; }  # calc EXPRESSION [FORMAT]

# Every dump walks the one hash shared by all netns: say how full it was while measuring.
hash_entries() {
  local total
  total=$(cat /proc/sys/net/netfilter/nf_conntrack_count)
  for other in $(ip netns list | cut -d' ' -f1); do
    total=$((total + $(ip netns exec "$other" cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null || echo 0)))
  done
  echo "$total"
}

echo "kernel=$(uname -r) buckets=$(cat /proc/sys/net/netfilter/nf_conntrack_buckets) max=$original_max cpus=$(nproc) reps=$reps"
for i in $(seq "${FOREIGN_NETNS:-0}"); do
  foreign+=("nfct-table-bench-$$-foreign$i")
  ip netns add "${foreign[-1]}"
  ip netns exec "${foreign[-1]}" "$build/tests/ct_create" --count=250000 --state=established \
    --dports=1000 > /dev/null
  echo "foreign netns ${foreign[-1]}: 250000 entries"
done
for size in "${sizes[@]}"; do
  ns=nfct-table-bench-$$-$size
  ip netns add "$ns"
  t0=$(now)
  fill "$size"
  count=$(ip netns exec "$ns" cat /proc/sys/net/netfilter/nf_conntrack_count)
  echo "== size=$size entries_in_netns=$count created_in_s=$(calc "$(now) - $t0")"
  echo "entries_in_shared_hash_before=$(hash_entries) (initial netns + every named netns)"
  ip netns exec "$ns" "$build/tests/bench/table_bench" --reps="$reps"
  for i in $(seq "$reps"); do
    t0=$(now)
    ip netns exec "$ns" conntrack -L > /dev/null 2> /tmp/"$ns".err
    seconds=$(calc "$(now) - $t0")
    shown=$(grep -o '[0-9]* flow entries' /tmp/"$ns".err | cut -d' ' -f1)
    echo "method=conntrack_L entries=$shown seconds=$seconds rate_per_s=$(calc "$shown / $seconds" %.0f)"
  done
  rm -f /tmp/"$ns".err
  echo "entries_in_shared_hash_after=$(hash_entries)"
  ip netns del "$ns"
  ns=""
done
