#!/usr/bin/env bash
# Builds the suite with sanitizers and runs the C++ tests on it; any report fails the run.
#   asan-ubsan  AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer (fatal): every
#               C++ test.
#   tsan        ThreadSanitizer: every C++ test too, so each test that starts a thread of ours
#               (kmsg reader, table dumper and netns walker workers, the setns threads of the
#               netlink socket and the netns walk, the HTTP server) runs under it.
# Not run here: the tests that run no C++ of ours (mixin, alerts, dashboards, promtool,
# clang-format, JSON checks), `live_chain` and the `deploy_*` tests (they run the exporter, but
# cover nothing the kernel tests miss and cost most of CI's time), and the fuzz targets, which
# are not even built (NFCT_BUILD_FUZZERS=OFF): they carry ASan+UBSan whatever the preset and
# already run in the plain suite.
#   scripts/sanitize.sh asan-ubsan|tsan [build-dir]   (default build/<preset>)
# JOBS (default 2) sets the build's parallelism; the build runs under nice. A compiler launcher
# such as ccache comes from the environment (CMAKE_CXX_COMPILER_LAUNCHER=ccache).
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:?usage: scripts/sanitize.sh asan-ubsan|tsan [build-dir]}
dir=${2:-build/$preset}
jobs=${JOBS:-2}
case "$preset" in
  asan-ubsan | tsan) ;;
  *)
    echo "unknown preset: $preset (asan-ubsan or tsan)" >&2
    exit 2
    ;;
esac

cmake --preset "$preset" -S . -B "$dir" -DNFCT_BUILD_TESTS=ON -DNFCT_BUILD_FUZZERS=OFF >/dev/null
nice -n 10 cmake --build "$dir" -j"$jobs"

# Reports go to files as well as failing the process that found them: the kernel tests run the
# exporter binary (built with the same sanitizer) as a child, and a report there, e.g. a leak at
# exit, must fail the run even when the test does not look at the child's exit code. The folder
# is world-writable because some tests run the exporter as nobody.
reports=$(mktemp -d)
chmod 1777 "$reports"
trap 'rm -rf "$reports"' EXIT
common=log_path=$reports/report:log_exe_name=1
export ASAN_OPTIONS=$common:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=$common:print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=$common:halt_on_error=1:second_deadlock_stack=1

not_cpp='mixin_drift|alerts_.*|dashboards_check|promtool_check_metrics_.*|clang_format'
not_cpp+='|doctor_golden_json_parses|docs_promql|docs_flags_links|mixin_entry_points|mixin_jsonnetfmt'
runner=()
# TSan maps its shadow memory at fixed addresses that a large mmap randomisation (recent kernels,
# vm.mmap_rnd_bits=32) can collide with: run the tests without address randomisation.
if [[ $preset == tsan ]]; then runner=(setarch "$(uname -m)" -R); fi
status=0
# -j3 as in scripts/test.sh: the real-kernel tests mostly wait on their drop windows.
"${runner[@]}" ctest --test-dir "$dir" --output-on-failure -j3 --timeout 900 \
  -E "^(live_chain|deploy_.*|$not_cpp)\$" || status=$?

shopt -s nullglob
found=("$reports"/report.*)
if [ ${#found[@]} -gt 0 ]; then
  echo "$preset: ${#found[@]} sanitizer report(s):" >&2
  for report in "${found[@]}"; do
    echo "==== $report" >&2
    cat "$report" >&2
  done
  status=1
fi
exit "$status"
