#!/usr/bin/env bash
# Builds the exporter and runs it on the default address (:9725), passing on any flags:
#   scripts/run.sh --log.level=debug
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
cmake -S . -B build -DNFCT_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" --target nf_conntrack_exporter
exec build/exporter/nf_conntrack_exporter "$@"
