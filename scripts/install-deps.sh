#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the project needs: `build` (compile and run the exporter),
# `package` (build + what `cpack -G DEB` needs), `test` (package + everything the test suite
# uses) or `bench` (build + the side-by-side serving benchmark). The one list of packages; the
# README, .ci/run and the Dockerfile's build stage all come here.
set -euo pipefail

build_packages=(
  cmake g++ make pkg-config git ca-certificates
  prometheus-cpp-dev libmnl-dev
  libmicrohttpd-dev libgnutls28-dev   # the HTTP server and its TLS
  libdeflate-dev                      # gzip of the responses (one-shot, whole body)
  libcpp-httplib-dev                  # HTTP client of the tests and tools
  libsystemd-dev                      # kmsg's journald source: headers (optional; dlopen at run time)
  libyaml-cpp-dev libcrypt-dev        # --web.config.file: YAML, bcrypt (libxcrypt)
  # collector refused: its BPF program (clang -target bpf, llvm, bpftool gen skeleton) and
  # libbpf with what it links (run time: libbpf1 libelf1, found by dpkg-shlibdeps and ldd)
  clang llvm bpftool libbpf-dev libelf-dev
)
package_packages=(
  dpkg-dev file                       # cpack -G DEB: dpkg-shlibdeps finds the Depends
  libcap2-bin                         # setcap: the container image's file capabilities
)
test_packages=(
  libgtest-dev libgmock-dev
  iproute2 nftables procps conntrack  # real-kernel tests: netns, ct rules, sysctl, conntrack -L
  prometheus                          # promtool: check metrics, rules and rule unit tests
  prometheus-alertmanager             # amtool and the Alertmanager of the live chain test
  python3 python3-yaml                # test scripts; the rules file is read as YAML
  jsonnet                             # mixin/: renders alerts/ and dashboards/ (drift test)
  libbenchmark-dev                    # tests/bench: the kmsg parser benchmark (and its smoke test)
  systemd-journal-remote              # kmsg: journal files for the journald source tests
  clang                               # libFuzzer targets of the kmsg and table parsers
  clang-format                        # scripts/check-format.sh (CI and the ctest entry clang_format)
  # tests/deploy: the Dockerfile built and run with podman (runc, a local base image from
  # mmdebstrap), systemd-analyze verify and strace for the unit, setcap/getcap for file capabilities,
  # systemd-nspawn to boot the .deb under a real systemd (nspawn_test.py)
  podman runc mmdebstrap systemd libcap2-bin strace systemd-container
)
# `bench`: tests/bench/serving_bench.sh drives both exporters with wrk. Debian's node_exporter
# package also enables its service (port 9100) where systemd runs; the benchmark starts its own.
bench_packages=(wrk prometheus-node-exporter)
# node/npm may come with the machine; else Debian's. kubectl 1.21+ (kustomize v4+) is not in
# Debian bookworm (its kubernetes-client 1.20 has kustomize v2): tests/deploy skips without it.
command -v npm >/dev/null || test_packages+=(nodejs npm)

case "${1:-}" in
  build) packages=("${build_packages[@]}") ;;
  package) packages=("${build_packages[@]}" "${package_packages[@]}") ;;
  test) packages=("${build_packages[@]}" "${package_packages[@]}" "${test_packages[@]}") ;;
  bench) packages=("${build_packages[@]}" "${bench_packages[@]}") ;;
  *) echo "usage: $0 build|package|test|bench" >&2; exit 2 ;;
esac

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "installed: ${packages[*]}"
if [ "$1" = test ]; then
  # libFuzzer's runtime: a separate package on Debian bookworm, part of clang elsewhere.
  $sudo apt-get install -y -qq --no-install-recommends libclang-rt-14-dev >/dev/null 2>&1 \
    && echo "installed: libclang-rt-14-dev" || echo "libclang-rt-14-dev not available: fuzzers may be skipped"
fi
