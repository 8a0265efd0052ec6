#!/usr/bin/env bash
# Builds the suite with sanitizers and runs it: `asan-ubsan` (AddressSanitizer, LeakSanitizer
# and UndefinedBehaviorSanitizer) runs every test but the live chain and the deploy_* tests;
# `tsan` (ThreadSanitizer) runs the tests of the threaded parts: the kmsg reader, the table
# dumper, the netns walker and the HTTP server. Any report fails the run.
#   scripts/sanitize.sh asan-ubsan|tsan [build-dir]   (default build/<preset>)
# JOBS (default 2) sets the build's parallelism; the build runs under nice.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:?usage: scripts/sanitize.sh asan-ubsan|tsan [build-dir]}
dir=${2:-build/$preset}
jobs=${JOBS:-2}

# Halt on the first report so ctest sees a failure; sanitizer output goes to the test's log.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

case "$preset" in
  asan-ubsan)
    # The live chain (7 minutes of Prometheus and Alertmanager) and the deploy_* tests (packages,
    # containers) exercise no C++ of ours that the other tests miss, and cost CI most of its time.
    select=(-E '^(live_chain.*|deploy_.*)$')
    ;;
  tsan)
    select=(-R '^(Kmsg|Table|Netns|HttpServer|CollectorSet|Golden|Privilege|Sigterm|ExporterProcess)')
    ;;
  *)
    echo "unknown preset: $preset (asan-ubsan or tsan)" >&2
    exit 2
    ;;
esac

cmake --preset "$preset" -S . -B "$dir" -DNFCT_BUILD_TESTS=ON >/dev/null
nice -n 10 cmake --build "$dir" -j"$jobs"
# TSan maps its shadow memory at fixed addresses that a large mmap randomisation (recent kernels,
# vm.mmap_rnd_bits=32) can collide with: run the tests without address randomisation.
runner=()
if [[ $preset == tsan ]]; then runner=(setarch "$(uname -m)" -R); fi
"${runner[@]}" ctest --test-dir "$dir" --output-on-failure -j2 --timeout 900 "${select[@]}"
