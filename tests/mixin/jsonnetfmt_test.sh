#!/usr/bin/env bash
# Every jsonnet source of the mixin (mixin/**/*.libsonnet, *.jsonnet) is as `jsonnetfmt` writes
# it, the style monitoring-mixins keep. Prints each file that differs and the command that fixes
# it. Exit 0 pass, 1 fail, 77 skip (no jsonnetfmt: Debian package jsonnet).
#   tests/mixin/jsonnetfmt_test.sh [jsonnetfmt]
set -euo pipefail
cd "$(dirname "$0")/../.."
fmt=${1:-$(command -v jsonnetfmt || true)}
if [ -z "$fmt" ]; then
  echo "SKIP: needs jsonnetfmt (Debian package jsonnet)"
  exit 77
fi
mapfile -t files < <(find mixin -name '*.libsonnet' -o -name '*.jsonnet' | sort)
if [ ${#files[@]} -eq 0 ]; then
  echo "FAIL: no jsonnet source found under mixin/"
  exit 1
fi
bad=0
for f in "${files[@]}"; do
  if "$fmt" --test "$f"; then
    echo "ok   $f"
  else
    echo "FAIL $f differs from jsonnetfmt's output: run $fmt -i $f"
    bad=$((bad + 1))
  fi
done
echo "$((${#files[@]} - bad)) passed, $bad failed"
[ "$bad" -eq 0 ]
