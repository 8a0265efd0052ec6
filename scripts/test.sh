#!/usr/bin/env bash
# Builds everything and runs the whole test suite with ctest. As root, the real-kernel tests
# (label `kernel`) run in network namespaces of their own; otherwise they skip and say why.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
cmake -S . -B build -DNFCT_BUILD_TESTS=ON >/dev/null
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j2 --timeout 900
