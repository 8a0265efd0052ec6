#!/usr/bin/env python3
"""The image's capability scheme, as Docker and Kubernetes apply it to a non-root user: the
runtime sets uid 65534 with the added capability in the permitted set but not the ambient one,
no_new_privs on, then execs. Only a file capability on the binary carries it across exec; the
image sets cap_net_admin,cap_syslog+p and the exporter raises what it got.

Checked on a copy of the built binary (root needed for setcap and setuid):
  +p file caps, NET_ADMIN granted      -> the exporter logs capabilities=net_admin
  no file caps, NET_ADMIN granted      -> none (what the scheme fixes)
  +p file caps, nothing granted        -> starts, none (no effective bit: no EPERM at exec)

  filecaps_test.py --binary build/exporter/nf_conntrack_exporter
"""
import argparse
import ctypes
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request

from deploytest import check, finish, need_root, need_tools, run

CAP_NET_ADMIN = 12
CAP_SYSLOG = 34
PR_SET_KEEPCAPS = 8
PR_SET_NO_NEW_PRIVS = 38
PR_CAPBSET_DROP = 24
LIBC = ctypes.CDLL(None, use_errno=True)


class CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def as_container_runtime(granted):
    """preexec_fn: what runc does for a non-root user without ambient capabilities."""
    def setup():
        for cap in range(64):
            if cap not in granted:
                LIBC.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL past the last cap: fine
        LIBC.prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0)
        os.setgroups([])
        os.setresgid(65534, 65534, 65534)
        os.setresuid(65534, 65534, 65534)
        header = CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
        data = (CapData * 2)()
        for cap in granted:
            data[cap // 32].permitted |= 1 << (cap % 32)
            data[cap // 32].effective |= 1 << (cap % 32)
        if LIBC.capset(ctypes.byref(header), data) != 0:
            raise OSError(ctypes.get_errno(), "capset")
        LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    return setup


def wait_ready(port):
    # SIGTERM before the HTTP server runs is not what this test is about: stop a ready one.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=2):
                return
        except OSError:
            time.sleep(0.05)


def started_with(binary, granted):
    """The capabilities= field of the exporter's start line, or its stderr when it failed."""
    process = subprocess.Popen([binary, "--web.listen-address=127.0.0.1:0"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               preexec_fn=as_container_runtime(granted))
    lines = []
    try:
        for line in process.stderr:
            lines.append(line)
            if "capabilities=" in line:
                port = re.search(r"port=(\d+)", "".join(lines))
                wait_ready(port.group(1) if port else 0)
                return line.split("capabilities=", 1)[1].split()[0]
        return "did not start: " + "".join(lines)
    finally:
        process.terminate()
        process.wait(timeout=10)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    args = parser.parse_args()
    need_root("setting file capabilities and switching to uid 65534")
    need_tools("setcap")
    with tempfile.TemporaryDirectory(prefix="nfct-filecaps-") as tmp:
        os.chmod(tmp, 0o755)
        plain = pathlib.Path(tmp) / "plain"
        capped = pathlib.Path(tmp) / "capped"
        shutil.copy(args.binary, plain)
        shutil.copy(args.binary, capped)
        setcap = run(["setcap", "cap_net_admin,cap_syslog+p", capped])
        if not check(setcap.returncode == 0, "setcap cap_net_admin,cap_syslog+p", setcap.stderr):
            finish()
        got = started_with(capped, {CAP_NET_ADMIN})
        check(got == "net_admin", "+p file caps, NET_ADMIN granted: net_admin", got)
        got = started_with(capped, {CAP_NET_ADMIN, CAP_SYSLOG})
        check(got == "net_admin,syslog", "+p file caps, both granted: net_admin,syslog", got)
        got = started_with(plain, {CAP_NET_ADMIN})
        check(got == "none", "no file caps, NET_ADMIN granted: none (runtime alone loses it)",
              got)
        got = started_with(capped, set())
        check(got == "none", "+p file caps, nothing granted: starts with none", got)
    finish()


if __name__ == "__main__":
    main()
