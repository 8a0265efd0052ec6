# Container image of nf_conntrack_exporter: a build stage with the project's own CMake and
# package list, and a runtime stage with only the binary and the shared libraries it needs.
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
# The Debian package's Depends (dpkg-shlibdeps on the binary) name the runtime stage's packages,
# so there is one place where runtime libraries are worked out.
RUN cmake -S . -B /build -DNFCT_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Release \
      -DNFCT_REVISION="${REVISION}" \
 && cmake --build /build -j"${JOBS:-$(nproc)}" \
 && cd /build && cpack -G DEB \
 && mkdir /out \
 && dpkg-deb -x nf-conntrack-exporter_*.deb /out/root \
 && dpkg-deb -f nf-conntrack-exporter_*.deb Depends \
    | tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/ //g' | grep . > /out/runtime-packages

FROM debian:bookworm-slim

COPY --from=build /out/runtime-packages /tmp/runtime-packages
COPY --from=build /out/root/usr/bin/nf_conntrack_exporter /usr/bin/nf_conntrack_exporter
# Docker and Kubernetes hand an added capability (--cap-add, capabilities.add) to a non-root
# user only through a file capability. Permitted-only (+p, no effective bit): the binary still
# starts where the capability is not granted, and raises one only around the call that needs it.
RUN apt-get update -qq \
 && xargs -a /tmp/runtime-packages apt-get install -y -qq --no-install-recommends >/dev/null \
 && apt-get install -y -qq --no-install-recommends libcap2-bin >/dev/null \
 && setcap cap_net_admin,cap_syslog+p /usr/bin/nf_conntrack_exporter \
 && apt-get purge -y -qq --auto-remove libcap2-bin >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
      /tmp/runtime-packages

ARG VERSION=0.1.0
ARG REVISION=""
LABEL org.opencontainers.image.title="nf_conntrack_exporter" \
      org.opencontainers.image.description="Prometheus exporter for the Linux conntrack table: entries, limit, drops, the kernel log and what fills the table." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim" \
      org.opencontainers.image.documentation="docs/deployment.md in the source tree"

# nobody: the exporter needs no file of its own and no root. Capabilities are granted per run
# (--cap-add NET_ADMIN, --cap-add SYSLOG); as a non-root user they work only when added.
USER 65534:65534
EXPOSE 9725
ENTRYPOINT ["/usr/bin/nf_conntrack_exporter"]
