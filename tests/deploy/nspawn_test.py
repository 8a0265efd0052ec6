#!/usr/bin/env python3
"""The .deb as deployed: built with cpack, installed with dpkg -i on a bookworm root booted by a
real systemd 252 (systemd-nspawn -b), then checked as a user would meet it: the service is active
and serves; CapEff is 0 while it serves; a root process's netns, an anonymous netns
(unshare --net) and an `ip netns` namespace no process holds are each counted and read; socket
activation answers after a restart, a stop and a crash of the service with the .socket still
active; `systemd-analyze security` on the running unit stays at or below 3.0. Then the opt-in
`refused` collector (BPF) as docs/refused.md tells a user to enable it: the packaged drop-in
pasted with `systemctl edit`, `--collector.refused` in ARGS: the collector loads and succeeds,
CapEff is 0 again while it serves, a refused UDP datagram in a full netns is counted.

The bookworm root is made once with mmdebstrap from the host's apt sources and cached under
/var/cache/nfct-test/; each run boots a copy of it. Root, mmdebstrap and systemd-nspawn
(systemd-container) are needed, else the test is skipped with the reason.

  nspawn_test.py --build-dir build
"""
import argparse
import hashlib
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import time

from deploytest import SOURCE_DIR, check, finish, need_root, need_tools, run, skip

PACKAGE = "nf-conntrack-exporter"
SERVICE = f"{PACKAGE}.service"
SOCKET = f"{PACKAGE}.socket"
CACHE = pathlib.Path("/var/cache/nfct-test")
SOURCES = [pathlib.Path("/etc/apt/sources.list.d/debian.sources"), pathlib.Path("/etc/apt/sources.list")]
# What the checks run inside the container, beside the package's own Depends.
TOOLS = ["systemd", "systemd-sysv", "dbus", "iproute2", "curl", "procps", "util-linux"]
MAX_EXPOSURE = 3.0
METRICS = "http://127.0.0.1:9725/metrics"
# Facts docs/deployment.md quotes that the build decides: checked against what this test measures.
DOC = SOURCE_DIR / "docs/deployment.md"
# The example drop-in the package ships for the opt-in refused collector (docs/refused.md).
REFUSED_DROPIN = f"/usr/share/{PACKAGE}/systemd/refused.conf"


def doc_fact(pattern, what):
    match = re.search(pattern, DOC.read_text())
    check(match is not None, f"docs/deployment.md quotes {what}")
    return match.group(1) if match else None


def check_documented_package(deb, names):
    quoted = doc_fact(r"\*\*Depends: ([^*]+)\*\*", "the Depends")
    if quoted is not None:
        want = {n.strip() for n in quoted.split(",")}
        check(want == set(names), f"the Depends quoted in docs/deployment.md is the package's",
              f"docs: {sorted(want)}, package: {sorted(set(names))}")
    size_kb = doc_fact(r"The package \(≈ (\d+) KB", "the package size")
    if size_kb is not None:
        measured = deb.stat().st_size / 1000
        check(abs(measured - int(size_kb)) <= int(size_kb) / 4,
              f"package size {measured:.0f} KB within a quarter of the quoted {size_kb} KB")


def build_deb(build_dir, out):
    made = run(["cpack", "-G", "DEB", "--config", build_dir / "CPackConfig.cmake", "-B", out])
    debs = sorted(pathlib.Path(out).glob("*.deb"))
    if not check(made.returncode == 0 and len(debs) == 1, "cpack -G DEB makes one package",
                 made.stdout[-3000:] + made.stderr[-3000:]):
        finish()
    return debs[0]


def depends(deb):
    """The package names of the .deb's Depends ('libc6 (>= 2.34), a | b' -> ['libc6', 'a'])."""
    field = run(["dpkg-deb", "-f", deb, "Depends"]).stdout
    names = []
    for clause in field.split(","):
        name = re.sub(r"\(.*?\)", "", clause.split("|")[0]).strip()
        if name:
            names.append(name)
    return names


def cached_root(include):
    """A bookworm root with `include`, made once per package set and kept under CACHE."""
    key = hashlib.sha256(" ".join(sorted(include)).encode()).hexdigest()[:16]
    root = CACHE / f"bookworm-{key}"
    if (root / "usr/lib/systemd/systemd").exists():
        return root
    sources = next((s for s in SOURCES if s.exists()), None)
    if sources is None:
        skip("no apt sources file on this host to make the bookworm root from")
    CACHE.mkdir(parents=True, exist_ok=True)
    scratch = CACHE / f"making-{key}-{os.getpid()}"
    made = run(["mmdebstrap", "--variant=minbase",
                "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
                "--include=" + ",".join(include), "bookworm", scratch, sources])
    if made.returncode != 0:
        shutil.rmtree(scratch, ignore_errors=True)
        last = (made.stderr.strip().splitlines() or [""])[-1]
        skip(f"mmdebstrap could not make a bookworm root (no package mirror?): {last}")
    (scratch / "etc/machine-id").write_text("")  # systemd makes one at boot
    try:
        scratch.rename(root)
    except OSError:  # another run made it meanwhile
        shutil.rmtree(scratch, ignore_errors=True)
    return root


class Container:
    """A booted copy of the root; every command goes in through nsenter."""

    def __init__(self, root, name, log):
        self.root, self.name = root, name
        self.process = subprocess.Popen(
            ["systemd-nspawn", "-b", "-D", root, "-M", name, "--register=no", "--keep-unit",
             "--private-network", "--console=pipe",
             # Not in nspawn's default bounding set: CAP_SYSLOG for the kmsg collector,
             # CAP_BPF/CAP_PERFMON for the refused collector's drop-in (a host has them all).
             "--capability=CAP_SYSLOG,CAP_BPF,CAP_PERFMON",
             # nspawn's own seccomp filter answers bpf() with EPERM for everything the
             # container's systemd starts (a host has no such filter): allow it back.
             "--system-call-filter=bpf"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        self.pid1 = None

    def find_init(self, timeout=30):
        """The container's PID 1, as the host sees it: a descendant of nspawn whose NSpid ends
        in 1."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            for status in pathlib.Path("/proc").glob("[0-9]*/status"):
                try:
                    text = status.read_text()
                except OSError:
                    continue
                nspid = re.search(r"^NSpid:\s+(.*)$", text, re.M)
                if not nspid or nspid.group(1).split()[-1] != "1" or len(nspid.group(1).split()) < 2:
                    continue
                pid = int(status.parent.name)
                if self._descends_from_nspawn(pid):
                    self.pid1 = pid
                    return pid
            time.sleep(0.2)
        return None

    def _descends_from_nspawn(self, pid):
        for _ in range(5):
            try:
                ppid = int(re.search(r"^PPid:\s+(\d+)", pathlib.Path(f"/proc/{pid}/status")
                                     .read_text(), re.M).group(1))
            except (OSError, AttributeError):
                return False
            if ppid == self.process.pid:
                return True
            pid = ppid
        return False

    def sh(self, command, timeout=60):
        argv = ["nsenter", "-t", str(self.pid1), "-m", "-u", "-i", "-n", "-p", "-C", "-r", "-w",
                "sh", "-c", command]
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            return subprocess.CompletedProcess(argv, 124, e.stdout or "", e.stderr or "timed out")

    def stop(self):
        if self.process.poll() is None and self.pid1:
            # Named netns first, by name: their bind mounts must not outlive the container.
            self.sh("ip netns del x; ip netns del y", timeout=20)
            self.sh("systemctl poweroff", timeout=20)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
        if self.process.poll() is None:
            self.process.kill()  # our own nspawn, by its pid
            self.process.wait(timeout=30)


def remove_cgroups():
    """The payload/supervisor cgroups nspawn leaves behind (empty once it exited)."""
    for hierarchy in ("systemd", "unified"):
        for top in ("payload", "supervisor"):
            base = pathlib.Path("/sys/fs/cgroup") / hierarchy / top
            if not base.is_dir():
                continue
            for directory in sorted((p for p in base.rglob("*") if p.is_dir()),
                                    key=lambda p: len(p.parts), reverse=True) + [base]:
                try:
                    directory.rmdir()
                except OSError:
                    pass  # still in use (another container): not ours to remove


def metric(text, name_and_labels):
    """The value of one sample whose line starts with name_and_labels, or None."""
    for line in text.splitlines():
        if line.startswith(name_and_labels):
            try:
                return float(line.rsplit(" ", 1)[1])
            except ValueError:
                return None
    return None


def netns_series(text, inode):
    return re.search(r'^nf_conntrack_netns_entries\{netns="%d",' % inode, text, re.M) is not None


def curl(box, timeout=20):
    result = box.sh(f"curl -sS --max-time {timeout} {METRICS}", timeout=timeout + 10)
    return result.returncode == 0 and "nf_conntrack_" in result.stdout, result


def check_service(box, after="after dpkg -i"):
    active = box.sh(f"for i in $(seq 50); do systemctl is-active -q {SERVICE} && exit 0; "
                    "sleep 0.2; done; exit 1")
    check(active.returncode == 0, f"{SERVICE} is active {after}",
          box.sh(f"systemctl status --no-pager {SERVICE}; journalctl --no-pager -u {SERVICE}"
                 " | tail -20").stdout)
    served, result = (False, None)
    for _ in range(50):
        served, result = curl(box, timeout=5)
        if served:
            break
        time.sleep(0.2)
    check(served, f"it serves {METRICS}", result.stderr if result else "")
    pid = box.sh(f"systemctl show -p MainPID --value {SERVICE}").stdout.strip()
    status = box.sh(f"cat /proc/{pid}/status").stdout
    eff = re.search(r"^CapEff:\s+([0-9a-f]+)", status, re.M)
    prm = re.search(r"^CapPrm:\s+([0-9a-f]+)", status, re.M)
    check(eff is not None and int(eff.group(1), 16) == 0,
          f"CapEff 0 while serving (pid {pid}: CapEff {eff.group(1) if eff else '?'}, "
          f"CapPrm {prm.group(1) if prm else '?'})", status)


def check_namespaces(box):
    made = box.sh(
        "ip netns add x && ip netns add y && "
        "systemd-run -q --unit=nfct-test-x ip netns exec x sleep 900 && "
        "systemd-run -q --unit=nfct-test-anon unshare --net sleep 900")
    check(made.returncode == 0, "netns x with a root process, an anonymous netns, netns y alone",
          made.stderr)

    def inode_of(command):
        out = box.sh(command).stdout.strip()
        return int(out) if out.isdigit() else None

    pid_of = "systemctl show -p MainPID --value nfct-test-{}"
    # The sleep's netns: `ip netns exec` and `unshare` exec sleep in the process systemd started.
    inodes = {}
    for label, unit in (("x", "x"), ("anonymous", "anon")):
        for _ in range(50):
            pid = box.sh(pid_of.format(unit)).stdout.strip()
            link = box.sh(f"readlink /proc/{pid}/ns/net; readlink /proc/1/ns/net").stdout.split()
            if len(link) == 2 and link[0] != link[1]:
                inodes[label] = int(link[0][5:-1])
                break
            time.sleep(0.1)
    inodes["y"] = inode_of("stat -L -c %i /run/netns/y")
    if not check(len(inodes) == 3 and all(inodes.values()), f"the three inodes: {inodes}"):
        return
    # The collector walks every 30 s (the shipped default): the first walk after they exist.
    text = ""
    deadline = time.monotonic() + 75
    while time.monotonic() < deadline:
        ok, result = curl(box, timeout=5)
        text = result.stdout if ok else ""
        if all(netns_series(text, i) for i in inodes.values()):
            break
        time.sleep(2)
    for label, inode in inodes.items():
        check(netns_series(text, inode), f"netns {label} ({inode}) is counted and read")
    namespaces = metric(text, "nf_conntrack_netns_namespaces ")
    check(namespaces is not None and namespaces >= 4,
          f"nf_conntrack_netns_namespaces {namespaces} >= 4 (the container's own + 3)")
    for name, want in [("nf_conntrack_netns_unread_namespaces ", 0),
                       ("nf_conntrack_netns_unreadable_processes ", 0),
                       ("nf_conntrack_netns_processes_hidden ", 0),
                       ('nf_conntrack_scrape_collector_success{collector="netns"} ', 1)]:
        got = metric(text, name)
        check(got == want, f"{name.strip()} = {want}", f"got {got}")
    box.sh("systemctl stop nfct-test-x nfct-test-anon")


def check_socket_activation(box):
    switched = box.sh(
        f"echo 'ARGS=\"--web.systemd-socket\"' > /etc/default/{PACKAGE} && "
        f"systemctl disable -q --now {SERVICE} && systemctl enable -q --now {SOCKET}")
    check(switched.returncode == 0, "switched to socket activation", switched.stderr)

    def answers(after):
        served, result = curl(box)
        socket_state = box.sh(f"systemctl is-active {SOCKET}").stdout.strip()
        check(served and socket_state == "active",
              f"socket activation answers {after}, {SOCKET} {socket_state}",
              (result.stderr if result else "") +
              box.sh(f"journalctl --no-pager -u {SOCKET} -u {SERVICE} | tail -15").stdout)

    answers("the first connection")
    box.sh(f"systemctl restart {SERVICE}")
    answers("after systemctl restart of the service")
    box.sh(f"systemctl stop {SERVICE}")
    answers("after systemctl stop of the service")
    box.sh(f"systemctl kill -s SIGKILL {SERVICE}")
    answers("after the service was killed (a crash)")


def check_exposure(box):
    security = box.sh(f"systemd-analyze security --no-pager {SERVICE}")
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", security.stdout)
    exposure = float(match.group(1)) if match else 99
    check(exposure <= MAX_EXPOSURE,
          f"systemd-analyze security (running unit): exposure {exposure} <= {MAX_EXPOSURE}",
          security.stdout[-2000:] + security.stderr)
    quoted = doc_fact(r"rates the running unit \*\*exposure ([0-9.]+)\*\*", "the exposure")
    if quoted is not None:
        check(abs(float(quoted) - exposure) < 0.05,
              f"the exposure quoted in docs/deployment.md ({quoted}) is the measured {exposure}")


def check_refused(box):
    """The refused collector enabled as docs/refused.md says: the packaged drop-in pasted with
    `systemctl edit` (the editor copies it in), --collector.refused in ARGS, the plain service."""
    switched = box.sh(
        f"systemctl disable -q --now {SOCKET}; systemctl stop {SERVICE}; "
        f"echo 'ARGS=\"--collector.refused\"' > /etc/default/{PACKAGE} && "
        # systemctl edit wants a tty (252 has no --stdin): script(1) gives it one.
        f"SYSTEMD_EDITOR='cp {REFUSED_DROPIN}' script -qec 'systemctl edit {SERVICE}' /dev/null && "
        f"systemctl enable -q --now {SERVICE}")
    check(switched.returncode == 0, "the refused drop-in applied with systemctl edit, "
          "--collector.refused in ARGS, the service started", switched.stdout + switched.stderr)
    override = box.sh(f"cat /etc/systemd/system/{SERVICE}.d/override.conf").stdout
    check("SystemCallFilter=bpf" in override, "systemctl edit wrote the drop-in", override)
    check_service(box, after="with the refused drop-in")
    text = ""
    for _ in range(50):
        ok, result = curl(box, timeout=5)
        text = result.stdout if ok else ""
        if metric(text, 'nf_conntrack_scrape_collector_success{collector="refused"} ') == 1:
            break
        time.sleep(0.2)
    success = metric(text, 'nf_conntrack_scrape_collector_success{collector="refused"} ')
    check(success == 1, f'collector_success{{collector="refused"}} = 1 under the drop-in',
          f"got {success}\n" + box.sh(f"journalctl --no-pager -u {SERVICE} | tail -15").stdout)
    info = re.search(r"^nf_conntrack_refused_info\{.*\} 1$", text, re.M)
    check(info is not None, "nf_conntrack_refused_info says the program is loaded",
          info.group(0) if info else "")
    if info:
        print(f"     {info.group(0)}")
    security = box.sh(f"systemd-analyze security --no-pager {SERVICE}")
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", security.stdout)
    check(match is not None, "systemd-analyze security rates the unit with the drop-in",
          security.stdout[-2000:] + security.stderr)
    if match:
        print(f"     exposure with the refused drop-in: {match.group(1)} "
              f"(the shipped unit's bound of {MAX_EXPOSURE} applies without it)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build-dir", required=True, type=pathlib.Path)
    args = parser.parse_args()
    need_root("booting a root with systemd-nspawn")
    need_tools("cpack", "dpkg-deb", "mmdebstrap", "systemd-nspawn", "nsenter")
    build_dir = args.build_dir.resolve()

    with tempfile.TemporaryDirectory(prefix="nfct-nspawn-") as tmp:
        tmp = pathlib.Path(tmp)
        deb = build_deb(build_dir, tmp / "deb")
        check_documented_package(deb, depends(deb))
        begin = time.monotonic()
        cache = cached_root(TOOLS + depends(deb))
        print(f"     bookworm root {cache} ready in {time.monotonic() - begin:.0f} s")
        root = tmp / "root"
        copied = run(["cp", "-a", "--reflink=auto", cache, root])
        check(copied.returncode == 0, "a copy of the cached root to boot", copied.stderr)
        shutil.copy(deb, root / "root/package.deb")
        box = None
        try:
            with open(tmp / "console.log", "w") as log:
                box = Container(root, f"nfct-test-{os.getpid()}", log)
                if not check(box.find_init() is not None, "systemd-nspawn boots the root"):
                    print((tmp / "console.log").read_text()[-3000:])
                    return
                # Right after boot the bus may not answer yet: ask again until it does.
                deadline = time.monotonic() + 90
                while True:
                    up = box.sh("systemctl is-system-running --wait", timeout=90)
                    state = up.stdout.strip()
                    if state in ("running", "degraded") or time.monotonic() > deadline:
                        break
                    time.sleep(0.5)
                check(state in ("running", "degraded"), f"systemd is up: {state}",
                      up.stderr + box.sh("systemctl --failed --no-pager").stdout)
                installed = box.sh("dpkg -i /root/package.deb", timeout=120)
                check(installed.returncode == 0, "dpkg -i the package",
                      installed.stdout[-2000:] + installed.stderr[-2000:])
                check_service(box)
                check_exposure(box)
                check_namespaces(box)
                check_socket_activation(box)
                check_refused(box)
        finally:
            if box:
                box.stop()
            remove_cgroups()
    finish()


if __name__ == "__main__":
    main()
