#!/bin/sh
# The exporter binary must not need the given shared libraries at start (readelf -d NEEDED):
# each one is mapped and relocated in every exporter process (docs/benchmarks.md, RSS).
# Usage: needed_libraries_test.sh BINARY LIBRARY-PREFIX...
set -eu
binary=$1
shift
needed=$(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
status=0
for prefix in "$@"; do
  for library in $needed; do
    case $library in
      "$prefix"*) echo "$binary needs $library" >&2; status=1 ;;
    esac
  done
done
[ $status -eq 0 ] && echo "needed: $(echo $needed)"
exit $status
