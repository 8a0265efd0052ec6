# Container image of nf_conntrack_exporter: a build stage with the project's own CMake and
# package list, and a runtime image FROM scratch holding only the binary, the shared libraries
# it loads (read from the binary with ldd at build time, so a new dependency needs no edit here)
# and its copyright file: no shell, no package manager, no user database. Runs as uid 65534.
# Build and run: docs/deployment.md (podman works too: deploy/container/podman-local.sh).
#   docker build -t nf-conntrack-exporter .
#   docker run -d --network host nf-conntrack-exporter
FROM debian:bookworm-slim AS build

WORKDIR /src
# The package list first, so a source change does not reinstall the toolchain.
COPY scripts/install-deps.sh scripts/
RUN scripts/install-deps.sh package && rm -rf /var/lib/apt/lists/*

COPY . .
ARG REVISION=""
ARG JOBS=""
# The binary as the Debian package installs it (stripped), then the runtime tree in /rootfs:
# every library ldd resolves, at the path ldd prints (the dynamic loader searches there), and
# the loader itself; plus libsystemd.so.0 and what it needs, which the kmsg collector's journald
# source loads with dlopen (ldd of the binary does not list it). Docker and Kubernetes hand an
# added capability (--cap-add, capabilities.add) to a non-root user only through a file
# capability. Permitted-only (+p, no effective bit): the binary still starts where a capability
# is not granted, and raises what it got at startup. NET_ADMIN: netlink (table, stat fallback); SYSLOG: /dev/kmsg; SYS_PTRACE:
# other users' /proc/<pid>/ns/net (netns); DAC_READ_SEARCH: the host journal's files (kmsg);
# BPF + PERFMON: loading the opt-in refused collector's program (--collector.refused), whose
# libbpf.so.1 and libelf.so.1 ldd lists like any other library.
RUN cmake -S . -B /build -DNFCT_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Release \
      -DNFCT_REVISION="${REVISION}" \
 && cmake --build /build -j"${JOBS:-$(nproc)}" \
 && cd /build && cpack -G DEB \
 && dpkg-deb -x nf-conntrack-exporter_*.deb /out \
 && mkdir -p /rootfs/usr/bin /rootfs/usr/share/doc/nf-conntrack-exporter \
 && cp /out/usr/bin/nf_conntrack_exporter /rootfs/usr/bin/ \
 && cp /out/usr/share/doc/nf-conntrack-exporter/copyright /rootfs/usr/share/doc/nf-conntrack-exporter/ \
 && libsystemd=$(ldconfig -p | awk '$1 == "libsystemd.so.0" { print $NF; exit }') \
 && test -n "$libsystemd" \
 && { ldd /rootfs/usr/bin/nf_conntrack_exporter; ldd "$libsystemd"; echo "$libsystemd"; } \
    | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u > /build/libs \
 && test -s /build/libs \
 && xargs -a /build/libs cp -L --parents -t /rootfs \
 && setcap cap_net_admin,cap_sys_ptrace,cap_syslog,cap_dac_read_search,cap_bpf,cap_perfmon+p /rootfs/usr/bin/nf_conntrack_exporter \
 && echo "runtime libraries:" && cat /build/libs

FROM scratch

COPY --from=build /rootfs/ /

ARG VERSION=0.1.0
ARG REVISION=""
LABEL org.opencontainers.image.title="nf_conntrack_exporter" \
      org.opencontainers.image.description="Prometheus exporter for the Linux conntrack table: entries, limit, drops, the kernel log and what fills the table." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.documentation="docs/deployment.md in the source tree"

# nobody: the exporter needs no file of its own and no root. Capabilities are granted per run
# (--cap-add NET_ADMIN, --cap-add SYSLOG; --cap-add BPF --cap-add PERFMON for
# --collector.refused); as a non-root user they work only when added.
USER 65534:65534
EXPOSE 9725
ENTRYPOINT ["/usr/bin/nf_conntrack_exporter"]
