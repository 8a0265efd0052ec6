#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the project needs: `build` (compile and run the exporter)
# or `test` (build + everything the test suite uses). The one list of packages; the README,
# .ci/run and the Dockerfile's build stage all come here.
set -euo pipefail

build_packages=(
  cmake g++ make pkg-config git ca-certificates
  prometheus-cpp-dev libnetfilter-conntrack-dev libmnl-dev libcpp-httplib-dev
)
test_packages=(
  libgtest-dev libgmock-dev
  iproute2 nftables procps conntrack  # real-kernel tests: netns, ct rules, sysctl, conntrack -L
  prometheus                          # promtool: check metrics, rules and rule unit tests
  python3
)

case "${1:-}" in
  build) packages=("${build_packages[@]}") ;;
  test) packages=("${build_packages[@]}" "${test_packages[@]}") ;;
  *) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "installed: ${packages[*]}"
