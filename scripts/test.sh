#!/usr/bin/env bash
# Builds everything and runs the whole test suite with ctest. As root, the real-kernel tests
# (label `kernel`) run in network namespaces of their own; otherwise they skip and say why.
# NFCT_PRESET=ci (or dev, asan-ubsan) builds with that CMake preset into build/<preset>.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
# ccache, where installed, makes a rebuild of unchanged files free (an explicit
# CMAKE_CXX_COMPILER_LAUNCHER in the environment wins).
launcher=()
if [ -z "${CMAKE_CXX_COMPILER_LAUNCHER:-}" ] && command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
if [ -n "${NFCT_PRESET:-}" ]; then
  build=build/$NFCT_PRESET
  cmake --preset "$NFCT_PRESET" -S . -B "$build" -DNFCT_BUILD_TESTS=ON "${launcher[@]}" >/dev/null
else
  build=build
  cmake -S . -B "$build" -DNFCT_BUILD_TESTS=ON "${launcher[@]}" >/dev/null
fi
cmake --build "$build" -j"$(nproc)"
# Three at once on two cores: several tests mostly wait (the live chain on Prometheus's 1 s
# evaluations, the kernel tests on their drop windows, Alertmanager's group_wait), so a third
# keeps the cores busy. Tests that must not overlap say so themselves (RESOURCE_LOCK: the live
# chain against every real-kernel binary, the two package builds); the longest start first
# (COST). CONTRIBUTING.md#how-long-the-suite-takes has the measured times.
ctest --test-dir "$build" --output-on-failure -j3 --timeout 900
