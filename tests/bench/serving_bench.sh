#!/bin/bash
# Side-by-side serving benchmark (root; prints numbers, asserts nothing): builds the exporter,
# makes a test netns holding ENTRIES conntrack entries (ct_create, the test netns ruleset), runs
# nf_conntrack_exporter (default collectors) and Debian's node_exporter with only its conntrack
# collector in it, drives each with wrk (2 threads x 10 connections, plain and gzip), reads CPU,
# RSS, threads and descriptors from /proc, repeats the load with HOSTILE slow or idle connections
# held open (tests/bench/hostile_clients.py), and prints one table with both columns and the
# ratios, then what one scrape costs without HTTP (tests/bench/scrape_cost_bench.cc: user and
# kernel time per collector). Removes its netns and stops the processes it started (by PID) on
# every exit path. Nothing outside the netns changes.
#
# Usage: [BUILD=build] [RUNS=1] [DURATION=10] [ENTRIES=100000] [HOSTILE=1000] \
#        tests/bench/serving_bench.sh
# Needs: wrk, prometheus-node-exporter (scripts/install-deps.sh bench), nft, python3, curl.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$src/build}
runs=${RUNS:-1}
duration=${DURATION:-10}
entries=${ENTRIES:-100000}
hostile=${HOSTILE:-1000}
ns=nfct-serving-bench-$$
ours_port=19725
node_port=19100
pids=()

for tool in wrk prometheus-node-exporter nft python3 curl; do
  command -v "$tool" > /dev/null || { echo "missing $tool (scripts/install-deps.sh bench)" >&2; exit 2; }
done
[ "$(id -u)" -eq 0 ] || { echo "needs root (a network namespace)" >&2; exit 2; }
# The interpreter itself, not a version manager's shim (which took seconds to start under load).
python=$(python3 -c 'import sys; print(sys.executable)')

cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || true
  done
  ip netns del "$ns" 2> /dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# nsenter execs the program itself; started with & straight from this shell (not through a
# function, which would be a subshell), $! is the program's PID.
enter=(nsenter --net="/run/netns/$ns")
in_ns() { "${enter[@]}" "$@"; }
calc() { awk "BEGIN { printf \"${2:-%.2f}\", $1 }"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
status_field() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" | wc -l; }
tck=$(getconf CLK_TCK)

# wrk's latency ("812.00us", "1.20ms", "1.01s") in milliseconds.
to_ms() {
  case "$1" in
    *us) calc "${1%us} / 1000" %.3f ;;
    *ms) calc "${1%ms}" %.3f ;;
    *s) calc "${1%s} * 1000" %.3f ;;
  esac
}

declare -A result

# load NAME PID PORT LABEL [wrk args...]: wrk for DURATION seconds; CPU per scrape and latency.
load() {
  local name=$1 pid=$2 port=$3 label=$4
  shift 4
  local before after out requests
  before=$(cpu_ticks "$pid")
  out=$(in_ns wrk --latency -d"${duration}s" "$@" "http://127.0.0.1:$port/metrics")
  after=$(cpu_ticks "$pid")
  requests=$(echo "$out" | awk '/requests in/ { print $1 }')
  result[$name,$label,rps]=$(calc "$requests / $duration" %.0f)
  result[$name,$label,cpu_us]=$(calc "($after - $before) / $tck / $requests * 1000000" %.1f)
  result[$name,$label,p50_ms]=$(to_ms "$(echo "$out" | awk '$1 == "50%" { print $2 }')")
  result[$name,$label,p99_ms]=$(to_ms "$(echo "$out" | awk '$1 == "99%" { print $2 }')")
  local errors
  errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ { $1 = $1; print }' | tr '\n' ' ')
  [ -z "$errors" ] || echo "  $name $label: $errors" >&2
}

# fresh_scrapes NAME PORT LABEL: 20 scrapes on new connections, one after the other.
fresh_scrapes() {
  local name=$1 port=$2 label=$3 times
  times=$(for _ in $(seq 20); do
    in_ns curl -s -o /dev/null -m 30 -w '%{time_total}\n' "http://127.0.0.1:$port/metrics" || echo 30
  done | sort -n)
  result[$name,$label,fresh_med_ms]=$(echo "$times" | awk 'NR == 10 { printf "%.3f", $1 * 1000 }')
  result[$name,$label,fresh_max_ms]=$(echo "$times" | awk 'END { printf "%.3f", $1 * 1000 }')
}

bench_one() {  # bench_one NAME PID PORT
  local name=$1 pid=$2 port=$3
  in_ns curl -s -o /dev/null "http://127.0.0.1:$port/metrics"  # warm
  result[$name,base,threads]=$(status_field "$pid" Threads)
  result[$name,base,fds]=$(fds "$pid")
  result[$name,plain,bytes]=$(in_ns curl -s "http://127.0.0.1:$port/metrics" | wc -c)
  result[$name,gzip,bytes]=$(in_ns curl -s -H 'Accept-Encoding: gzip' \
    "http://127.0.0.1:$port/metrics" | wc -c)
  fresh_scrapes "$name" "$port" quiet
  load "$name" "$pid" "$port" plain -t2 -c10
  load "$name" "$pid" "$port" gzip -t2 -c10 -H 'Accept-Encoding: gzip'
  load "$name" "$pid" "$port" single -t1 -c1
  result[$name,load,rss_mb]=$(calc "$(status_field "$pid" VmRSS) / 1024" %.1f)
  result[$name,load,threads]=$(status_field "$pid" Threads)

  local log="/tmp/$ns-hostile.log"
  "${enter[@]}" "$python" "$src/tests/bench/hostile_clients.py" --port="$port" \
    --count="$hostile" > "$log" 2>&1 &
  local hostile_pid=$!
  pids+=("$hostile_pid")
  # Measure only once every connection is open: a fixed sleep measured before the client had
  # even started on a loaded machine.
  local waited=0
  until grep -q 'connections open' "$log"; do
    sleep 0.2
    waited=$((waited + 1))
    [ "$waited" -lt 600 ] || { echo "hostile client never got ready: $(cat "$log")" >&2; exit 1; }
  done
  sleep 1  # the server has accepted what the kernel queued
  result[$name,hostile,fds]=$(fds "$pid")
  result[$name,hostile,conns]=$(in_ns ss -Htn state established "( sport = :$port )" | wc -l)
  fresh_scrapes "$name" "$port" hostile
  load "$name" "$pid" "$port" hostile -t2 -c10
  result[$name,hostile,rss_mb]=$(calc "$(status_field "$pid" VmRSS) / 1024" %.1f)
  result[$name,hostile,threads]=$(status_field "$pid" Threads)
  kill "$hostile_pid"
  wait "$hostile_pid" 2> /dev/null || true
  echo "  $name: $(tr '\n' ' ' < "$log")" >&2
  rm -f "$log"
  sleep 2
  result[$name,after,fds]=$(fds "$pid")
  result[$name,after,threads]=$(status_field "$pid" Threads)
}

row() {  # row LABEL KEY [lower-is-better text]
  local a=${result[ours,$2]:-?} b=${result[node,$2]:-?} ratio="-"
  if [[ $a =~ ^[0-9.]+$ && $b =~ ^[0-9.]+$ ]] && awk "BEGIN { exit !($b > 0) }"; then
    ratio=$(calc "$a / $b" %.2fx)
  fi
  printf '| %-46s | %14s | %14s | %7s |\n' "$1" "$a" "$b" "$ratio"
}

print_table() {
  printf '| %-46s | %14s | %14s | %7s |\n' "" "nf_conntrack_exporter" "node_exporter" "ratio"
  printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..48})" "$(printf -- '-%.0s' {1..16})" \
    "$(printf -- '-%.0s' {1..16})" "$(printf -- '-%.0s' {1..9})"
  row "response bytes, plain" plain,bytes
  row "response bytes, gzip" gzip,bytes
  row "wrk -t2 -c10 plain: scrapes/s" plain,rps
  row "wrk -t2 -c10 plain: CPU per scrape (us)" plain,cpu_us
  row "wrk -t2 -c10 plain: p50 (ms)" plain,p50_ms
  row "wrk -t2 -c10 plain: p99 (ms)" plain,p99_ms
  row "wrk -t2 -c10 gzip: scrapes/s" gzip,rps
  row "wrk -t2 -c10 gzip: CPU per scrape (us)" gzip,cpu_us
  row "wrk -t2 -c10 gzip: p99 (ms)" gzip,p99_ms
  row "one kept-alive connection: scrape p50 (ms)" single,p50_ms
  row "one kept-alive connection: scrape p99 (ms)" single,p99_ms
  row "fresh connection: scrape median (ms)" quiet,fresh_med_ms
  row "RSS after load (MB)" load,rss_mb
  row "threads: idle / after load" base,threads
  row "threads after load" load,threads
  row "descriptors: idle" base,fds
  row "$hostile hostile open: connections on the port" hostile,conns
  row "$hostile hostile open: descriptors" hostile,fds
  row "$hostile hostile open: fresh scrape median (ms)" hostile,fresh_med_ms
  row "$hostile hostile open: fresh scrape max (ms)" hostile,fresh_max_ms
  row "$hostile hostile open: wrk -t2 -c10 p99 (ms)" hostile,p99_ms
  row "$hostile hostile open: CPU per scrape (us)" hostile,cpu_us
  row "$hostile hostile open: RSS (MB)" hostile,rss_mb
  row "$hostile hostile open: threads" hostile,threads
  row "2 s after they left: descriptors" after,fds
  row "2 s after they left: threads" after,threads
}

export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$src}
cmake --build "$build" -j2 --target nf_conntrack_exporter ct_create scrape_cost_bench > /dev/null
ip netns add "$ns"
ip -n "$ns" link set lo up
in_ns nft -f "$src/tests/support/test_netns.nft"
in_ns "$build/tests/ct_create" --count="$entries" --state=established --dports=1000 \
  --timeout=3600 > /dev/null
echo "machine: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
echo "kernel: $(uname -r); date: $(date -u +%FT%TZ); entries in netns:" \
  "$(in_ns cat /proc/sys/net/netfilter/nf_conntrack_count)"
echo "node_exporter: $(prometheus-node-exporter --version 2>&1 | head -1)"
echo "exporter: $("$build/exporter/nf_conntrack_exporter" --version)"

for run in $(seq "$runs"); do
  "${enter[@]}" "$build/exporter/nf_conntrack_exporter" --web.listen-address="127.0.0.1:$ours_port" \
    --log.level=warn &
  ours=$!
  pids+=("$ours")
  "${enter[@]}" prometheus-node-exporter --collector.disable-defaults --collector.conntrack \
    --web.listen-address="127.0.0.1:$node_port" --log.level=warn &
  node=$!
  pids+=("$node")
  sleep 2  # both listening; the table collector's first dump done
  bench_one ours "$ours" "$ours_port"
  bench_one node "$node" "$node_port"
  echo
  echo "run $run of $runs (wrk ${duration}s per row, $entries entries, $hostile hostile):"
  print_table
  kill "$ours" "$node"
  wait "$ours" "$node" 2> /dev/null || true
done

# Where our CPU per scrape goes without HTTP, in the same netns: the kernel column is what the
# reads themselves cost, a floor for the CPU per scrape rows above.
echo
in_ns "$build/tests/bench/scrape_cost_bench" 3 2> /dev/null
