#!/bin/sh
# Scrapes of nf_conntrack_exporter need no conntrack entry, for iptables and ip6tables
# (docs/notrack.md). Opt-in; run by the operator as root, never by the exporter.
#   nf-conntrack-exporter-notrack.sh enable [PORT]    add the rules (once: checks with -C first)
#   nf-conntrack-exporter-notrack.sh disable [PORT]   remove them
#   nf-conntrack-exporter-notrack.sh status [PORT]    exit 0 when every rule is in place
# PORT defaults to 9725. The rules and why: nf-conntrack-exporter-notrack.rules beside it.
# These rules do not survive a reboot: persist them with your firewall's own rules files.
set -eu

action=${1:-}
port=${2:-9725}
case "$port" in
  ''|*[!0-9]*) echo "$0: PORT must be a number, not '$port'" >&2; exit 2 ;;
esac

# table chain position rule...; position is where `enable` inserts (A: last, I: first).
rules() {
  echo "raw PREROUTING A -p tcp --dport $port -j CT --notrack"
  echo "raw OUTPUT A -p tcp --sport $port -j CT --notrack"
  echo "filter INPUT I -p tcp --dport $port -m conntrack --ctstate UNTRACKED -j ACCEPT"
  echo "filter OUTPUT I -p tcp --sport $port -m conntrack --ctstate UNTRACKED -j ACCEPT"
}

missing=0
for tool in iptables ip6tables; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "$0: $tool not found; skipped" >&2
    continue
  fi
  rules | while read -r table chain position rule; do
    # shellcheck disable=SC2086  # the rule is a list of words
    case "$action" in
      enable)
        "$tool" -w -t "$table" -C "$chain" $rule 2>/dev/null ||
          "$tool" -w -t "$table" "-$position" "$chain" $rule ;;
      disable)
        while "$tool" -w -t "$table" -C "$chain" $rule 2>/dev/null; do
          "$tool" -w -t "$table" -D "$chain" $rule
        done ;;
      status)
        if "$tool" -w -t "$table" -C "$chain" $rule 2>/dev/null; then
          echo "present: $tool -t $table $chain $rule"
        else
          echo "missing: $tool -t $table $chain $rule"
          exit 1
        fi ;;
      *)
        echo "usage: $0 enable|disable|status [PORT]" >&2
        exit 2 ;;
    esac
  done || missing=$?
  [ "$missing" -eq 0 ] || exit "$missing"
done
