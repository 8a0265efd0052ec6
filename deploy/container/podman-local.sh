#!/usr/bin/env bash
# Runs podman on a machine with no Docker engine and no registry access, leaving /etc alone:
#   deploy/container/podman-local.sh base-image   make debian:bookworm-slim locally (mmdebstrap)
#   deploy/container/podman-local.sh build ARGS   base-image if missing, then podman build
#   deploy/container/podman-local.sh ARGS...      any other podman command (run, stop, rm, ...)
# Settings live in a containers.conf of our own (CONTAINERS_CONF): runc (crun cannot run on
# hybrid cgroups), ulimits root may set (it cannot raise them here), and the host network
# (the default bridge would switch on ip_forward and NAT tables). Used by tests/deploy too.
set -euo pipefail

readonly kBaseImage=docker.io/library/debian:bookworm-slim

write_containers_conf() {
  # A fixed path, not a per-call temp dir: conmon runs `podman container cleanup` after this
  # script has exited, and that podman reads the same file.
  local dir="${TMPDIR:-/tmp}/nfct-podman-$(id -u)"
  mkdir -p "$dir"
  local nofile nproc pid_max
  nofile=$(ulimit -Hn)
  nproc=$(ulimit -Hu)
  pid_max=$(cat /proc/sys/kernel/pid_max)
  [ "$nofile" = unlimited ] && nofile=1048576
  if [ "$nproc" = unlimited ] || [ "$nproc" -gt "$pid_max" ]; then nproc=$pid_max; fi
  cat >"$dir/containers.conf.new" <<CONF
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]
netns = "host"

[engine]
runtime = "runc"
CONF
  mv "$dir/containers.conf.new" "$dir/containers.conf"
  export CONTAINERS_CONF="$dir/containers.conf"
}

# The mirror comes from the host's own apt sources, never from this project.
host_apt_sources() {
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    echo /etc/apt/sources.list.d/debian.sources
  elif [ -s /etc/apt/sources.list ]; then
    echo /etc/apt/sources.list
  else
    echo "podman-local: no /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list" >&2
    return 1
  fi
}

make_base_image() {
  if podman image exists "$kBaseImage"; then return 0; fi
  local sources
  sources=$(host_apt_sources)
  echo "podman-local: making $kBaseImage with mmdebstrap from $sources" >&2
  # minbase and no docs/man/locales, like the published -slim image.
  mmdebstrap --variant=minbase --format=tar --quiet \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    bookworm - "$sources" |
    podman import --change 'CMD ["bash"]' - "$kBaseImage" >/dev/null
}

write_containers_conf
case "${1:-}" in
  base-image) make_base_image ;;
  build)
    shift
    make_base_image
    exec podman build --pull=never "$@"
    ;;
  "") echo "usage: $0 base-image | build ARGS... | PODMAN-ARGS..." >&2; exit 2 ;;
  *) exec podman "$@" ;;
esac
