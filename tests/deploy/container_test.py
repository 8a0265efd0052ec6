#!/usr/bin/env python3
"""The top-level Dockerfile, built and run with podman on this machine (no Docker engine, no
registry: deploy/container/podman-local.sh makes the base image with mmdebstrap and keeps its
settings out of /etc). Checked: the image's user, port, labels, entrypoint, file capabilities
and size (at most 30 MB), and that it holds the binary, its libraries and its copyright file
and nothing else (no shell, no package manager); run with --network host and the host's /proc at
/host/proc, it serves the host's real /metrics (limit = /proc/sys/net/netfilter/nf_conntrack_max)
as uid 65534; each privilege level of docs/deployment.md gives the capabilities it says; SIGTERM
(podman stop) exits 0. With --build-dir, the Debian package made from that build tree is also
installed with apt into a fresh bookworm-slim container: its Depends resolve, its maintainer
scripts succeed without systemd, it runs, and it purges cleanly. Containers are removed by the
names this test gave them; the image stays tagged as TAG for the next run's layer cache.
Prints the build time and the image size.

  container_test.py [--tag localhost/nf-conntrack-exporter:test] [--build-dir build]
"""
import argparse
import json
import os
import pathlib
import re
import socket
import tempfile
import time
import urllib.request

from deploytest import SOURCE_DIR, check, finish, need_root, need_tools, run, skip

PODMAN = SOURCE_DIR / "deploy/container/podman-local.sh"
BUILD_TIMEOUT = 1500


def podman(*args, timeout=120):
    return run([PODMAN, *args], timeout=timeout)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode()


def wait_ready(port, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if fetch(f"http://127.0.0.1:{port}/-/ready")[0] == 200:
                return True
        except OSError:
            time.sleep(0.1)
    return False


def metric(text, name):
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(match.group(1)) if match else None


def build(tag):
    revision = run(["git", "-C", SOURCE_DIR, "rev-parse", "--short=12", "HEAD"]).stdout.strip()
    started = time.monotonic()
    base = podman("base-image", timeout=BUILD_TIMEOUT)
    check(base.returncode == 0, "base image docker.io/library/debian:bookworm-slim is there",
          base.stderr[-3000:])
    print(f"     base image ready in {time.monotonic() - started:.1f} s")
    # Old dangling layers of earlier runs go; recent ones stay as the build cache.
    podman("image", "prune", "-f", "--filter", "until=24h")
    started = time.monotonic()
    built = podman("build", "--format", "docker", "-t", tag, "--build-arg", "JOBS=2",
                   "--build-arg", f"REVISION={revision}", SOURCE_DIR, timeout=BUILD_TIMEOUT)
    seconds = time.monotonic() - started
    ok = check(built.returncode == 0, f"podman build {tag}",
               built.stdout[-4000:] + built.stderr[-4000:])
    print(f"     build took {seconds:.1f} s")
    return ok


def check_image(tag):
    inspect = json.loads(podman("image", "inspect", tag).stdout or "[{}]")[0]
    config = inspect.get("Config", {})
    size_mb = inspect.get("Size", 0) / 1e6
    print(f"     image size {size_mb:.1f} MB")
    check(config.get("User") == "65534:65534", "USER 65534:65534", config.get("User"))
    check("9725/tcp" in (config.get("ExposedPorts") or {}), "EXPOSE 9725")
    check(config.get("Entrypoint") == ["/usr/bin/nf_conntrack_exporter"], "ENTRYPOINT the binary")
    labels = config.get("Labels") or {}
    for label in ("title", "description", "version", "revision"):
        check(labels.get(f"org.opencontainers.image.{label}"),
              f"OCI label org.opencontainers.image.{label}")
    check(size_mb <= 30, f"image at most 30 MB ({size_mb:.1f} MB)")
    mount = podman("image", "mount", tag).stdout.strip()
    try:
        getcap = run(["getcap", f"{mount}/usr/bin/nf_conntrack_exporter"]).stdout
        want_caps = "cap_net_admin,cap_sys_ptrace,cap_syslog,cap_dac_read_search,cap_bpf,cap_perfmon=p"
        check(set(re.split(r"[ ,=]", want_caps)) <= set(re.split(r"[ ,=]", getcap.strip())),
              f"file capabilities {want_caps}", getcap)
        leftovers = [p for p in ("usr/bin/g++", "usr/bin/cmake", "usr/bin/setcap", "src", "build",
                                 "bin/sh", "usr/bin/sh", "usr/bin/dash", "usr/bin/bash",
                                 "usr/bin/apt-get", "usr/bin/dpkg", "var/lib/dpkg", "etc/apt")
                     if os.path.lexists(f"{mount}/{p}")]
        check(not leftovers, "no toolchain, sources, shell or package manager in the image", leftovers)
        # Every library the binary loads is in the image: it started (check_host_metrics), and
        # nothing but the binary, its loader, its libraries and its copyright file is there.
        files = sorted(str(p.relative_to(mount)) for p in pathlib.Path(mount).rglob("*")
                       if p.is_file() and not str(p.relative_to(mount)).startswith(("proc", "sys", "dev", "etc")))
        strays = [f for f in files if not (f == "usr/bin/nf_conntrack_exporter" or ".so" in f
                                           or f == "usr/share/doc/nf-conntrack-exporter/copyright")]
        check(not strays, f"only the binary, its {len(files) - 2} shared libraries and its copyright file",
              strays)
        # Not in ldd's list: the journald source of kmsg loads it with dlopen.
        check(any(f.endswith("/libsystemd.so.0") for f in files),
              "libsystemd.so.0 (dlopen by kmsg's journald source) is in the image", files)
    finally:
        podman("image", "unmount", tag)


def run_container(name, tag, port, extra):
    return podman("run", "-d", "--name", name, "--network", "host",
                  "-v", "/proc:/host/proc:ro", *extra, tag,
                  f"--web.listen-address=127.0.0.1:{port}", "--path.procfs=/host/proc")


def check_host_metrics(name, tag):
    port = free_port()
    started = run_container(name, tag, port, [])
    if not check(started.returncode == 0, "podman run --network host", started.stderr):
        return
    check(wait_ready(port), "/-/ready answers 200", podman("logs", name).stderr)
    status, text = fetch(f"http://127.0.0.1:{port}/metrics")
    host_max = float(open("/proc/sys/net/netfilter/nf_conntrack_max").read())
    check(metric(text, "nf_conntrack_entries_limit") == host_max,
          f"nf_conntrack_entries_limit = the host's nf_conntrack_max ({host_max:.0f})",
          metric(text, "nf_conntrack_entries_limit"))
    for collector in ("sysctl", "stat"):
        check(metric(text, f'nf_conntrack_scrape_collector_success{{collector="{collector}"}}')
              == 1, f"collector {collector} succeeds in the container")
    check(fetch(f"http://127.0.0.1:{port}/-/healthy")[0] == 200, "/-/healthy answers 200")
    pid = podman("inspect", "--format", "{{.State.Pid}}", name).stdout.strip()
    uid = re.search(r"^Uid:\s+(\d+)", open(f"/proc/{pid}/status").read(), re.M)
    check(uid and uid.group(1) == "65534", "the exporter runs as uid 65534")
    stopped = podman("stop", "-t", "10", name)
    code = podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
    check(stopped.returncode == 0 and code == "0", "podman stop: SIGTERM exits 0", code)


def check_privilege_levels(name, tag):
    levels = [([], "none"),
              (["--cap-add", "NET_ADMIN"], "net_admin"),
              (["--device", "/dev/kmsg", "--cap-add", "SYSLOG"], "syslog")]
    for extra, want in levels:
        port = free_port()
        podman("rm", "-f", name)
        started = run_container(name, tag, port, extra)
        ready = started.returncode == 0 and wait_ready(port)
        logs = podman("logs", name).stderr
        got = re.search(r"capabilities=(\S+)", logs)
        check(ready and got and got.group(1) == want,
              f"{' '.join(extra) or 'no options'}: capabilities={want}", logs)
        podman("stop", "-t", "10", name)


DEB_SCRIPT = """set -e
apt-get update -qq
apt-get install -y -qq --no-install-recommends /deb/*.deb >/dev/null
nf_conntrack_exporter --version
test -f /usr/lib/systemd/system/nf-conntrack-exporter.service
grep -q '^ARGS=' /etc/default/nf-conntrack-exporter
apt-get purge -y -qq nf-conntrack-exporter >/dev/null
test ! -e /usr/bin/nf_conntrack_exporter && test ! -e /etc/default/nf-conntrack-exporter
echo purged
"""


def check_deb_installs(build_dir, name):
    with tempfile.TemporaryDirectory(prefix="nfct-deb-install-") as tmp:
        made = run(["cpack", "-G", "DEB", "--config", build_dir / "CPackConfig.cmake", "-B", tmp])
        debs = list(pathlib.Path(tmp).glob("*.deb"))
        if not check(made.returncode == 0 and len(debs) == 1, "cpack -G DEB for the install check",
                     made.stderr[-2000:]):
            return
        installed = podman("run", "--rm", "--name", name, "--network", "host",
                           "-v", f"{tmp}:/deb:ro", "docker.io/library/debian:bookworm-slim",
                           "sh", "-c", DEB_SCRIPT, timeout=600)
        check(installed.returncode == 0 and "purged" in installed.stdout,
              "the .deb installs with apt in bookworm-slim (Depends resolve, postinst without "
              "systemd), runs, and purges", installed.stdout[-2000:] + installed.stderr[-2000:])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tag", default="localhost/nf-conntrack-exporter:test")
    parser.add_argument("--build-dir", type=pathlib.Path)
    args = parser.parse_args()
    need_root("podman (rootful, host network)")
    need_tools("podman", "runc", "mmdebstrap", "getcap", "git")
    if not os.path.exists("/proc/sys/net/netfilter/nf_conntrack_max"):
        skip("nf_conntrack is not loaded on this host: there is no limit to compare")
    name = f"nfct-container-test-{os.getpid()}"
    try:
        if build(args.tag):
            check_image(args.tag)
            check_host_metrics(name, args.tag)
            check_privilege_levels(name, args.tag)
        if args.build_dir:
            podman("rm", "-f", name)
            check_deb_installs(args.build_dir.resolve(), name)
    finally:
        podman("rm", "-f", "-t", "5", name)
        left = podman("ps", "-a", "--filter", f"name={name}", "--format", "{{.Names}}").stdout
        check(name not in left, f"container {name} removed")
    finish()


if __name__ == "__main__":
    main()
