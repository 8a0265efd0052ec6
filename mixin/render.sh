#!/bin/sh
# Renders the mixin into the files users load without jsonnet:
#   alerts/nf_conntrack.rules.yml   recording rules and alerts (prometheusRules + prometheusAlerts)
#   dashboards/*.json               the Grafana dashboards (grafanaDashboards)
# `mixin/render.sh` rewrites them; `mixin/render.sh --check` exits 1 and shows the diff when a
# checked-in file differs from what the mixin renders (the drift test runs this).
# Needs jsonnet (Debian package jsonnet); JSONNET=path overrides it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
jsonnet=${JSONNET:-jsonnet}
check=0
[ "${1:-}" = "--check" ] && check=1

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT INT TERM
mkdir -p "$out/alerts" "$out/dashboards"

"$jsonnet" -J "$here" -S -e '
local m = import "mixin.libsonnet";
"# GENERATED from mixin/ (jsonnet) by mixin/render.sh: do not edit. Edit mixin/*.libsonnet,\n" +
"# where every rule and threshold is explained, and rerun mixin/render.sh.\n" +
"# Load with `rule_files: [/etc/prometheus/rules/nf_conntrack.rules.yml]`.\n" +
std.manifestYamlDoc({ groups: m.prometheusRules.groups + m.prometheusAlerts.groups }, quote_keys=false)
' > "$out/alerts/nf_conntrack.rules.yml"
"$jsonnet" -J "$here" -S -m "$out/dashboards" -e '
local m = import "mixin.libsonnet";
{ [name]: std.manifestJsonEx(m.grafanaDashboards[name], "  ") + "\n" for name in std.objectFields(m.grafanaDashboards) }
' >/dev/null

status=0
for f in alerts/nf_conntrack.rules.yml $(cd "$out" && ls dashboards/*.json); do
  if [ "$check" = 1 ]; then
    if ! diff -u "$root/$f" "$out/$f"; then
      echo "$f differs from what mixin/ renders: run mixin/render.sh" >&2
      status=1
    fi
  else
    cp "$out/$f" "$root/$f"
    echo "wrote $f"
  fi
done
if [ "$check" = 1 ]; then
  for f in "$root"/dashboards/*.json; do
    [ -e "$out/dashboards/$(basename "$f")" ] || { echo "dashboards/$(basename "$f") is not rendered by mixin/" >&2; status=1; }
  done
fi
exit $status
