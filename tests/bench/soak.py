#!/usr/bin/env python3
"""Soak benchmark (a command, not a ctest): the exporter with every collector active scraped
every 100 ms for 10 minutes in a test netns whose table is busy (tens of thousands of entries,
more made every few seconds), with the table and netns workers at 1 s. Samples RSS, open file
descriptors and threads of the exporter, prints the series and a verdict: flat, or what grew.

  sudo tests/bench/soak.py [--build build] [--minutes 10] [--entries 50000]

Root: it makes netns nfct-soak-<pid> (deleted by name on every exit path) and changes no sysctl.
Exit status 0 when flat, 1 when something grew, 2 when it could not run.
"""
import argparse
import ctypes
import os
import pathlib
import re
import signal
import subprocess
import sys
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
RULESET = ROOT / "tests/support/test_netns.nft"
CLONE_NEWNET = 0x40000000


def run(argv, **kwargs):
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, **kwargs)


def enter_netns(name):
    """Moves this (single-threaded) process into the netns, so scrapes reach its loopback."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
    finally:
        os.close(fd)


def sample(pid):
    status = pathlib.Path(f"/proc/{pid}/status").read_text()
    rss_kib = int(re.search(r"^VmRSS:\s+(\d+)", status, re.M).group(1))
    threads = int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return rss_kib, fds, threads


def verdict(series):
    """Flat when, after the first fifth (warm-up: first dumps, first walks, allocator pools),
    RSS moves by less than 10 % or 4 MiB and fds and threads by at most 2."""
    settled = series[max(1, len(series) // 5):]
    problems = []
    rss = [s[1] for s in settled]
    if max(rss) - rss[0] > max(4096, rss[0] // 10):
        problems.append(f"RSS grew from {rss[0]} KiB to {max(rss)} KiB")
    for index, name in ((2, "fds"), (3, "threads")):
        values = [s[index] for s in settled]
        if max(values) - min(values) > 2:
            problems.append(f"{name} ranged {min(values)}..{max(values)}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default=str(ROOT / "build"))
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--entries", type=int, default=50000)
    parser.add_argument("--sample-seconds", type=float, default=30)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("soak: needs root (a netns of its own)", file=sys.stderr)
        return 2
    exporter = pathlib.Path(args.build) / "exporter/nf_conntrack_exporter"
    ct_create = pathlib.Path(args.build) / "tests/ct_create"
    name = f"nfct-soak-{os.getpid()}"
    log_path = pathlib.Path(f"/tmp/{name}-exporter.log")
    process = None
    try:
        run(["ip", "netns", "add", name])
        run(["ip", "-n", name, "link", "set", "lo", "up"])
        run(["ip", "netns", "exec", name, "nft", "-f", str(RULESET)])
        half = args.entries // 2
        run(["ip", "netns", "exec", name, str(ct_create), f"--count={half}", "--proto=tcp",
             "--state=established", "--dports=200", "--timeout=3600"])
        run(["ip", "netns", "exec", name, str(ct_create), f"--count={args.entries - half}",
             "--proto=udp", "--dports=300", f"--src-offset={half}", "--timeout=3600"])
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                ["ip", "netns", "exec", name, str(exporter), "--web.listen-address=127.0.0.1:0",
                 "--collector.table.interval=1s", "--collector.table.max-entries=0",
                 "--collector.netns.interval=1s"], stderr=log)
        port = None
        for _ in range(100):
            found = re.search(r" port=(\d+)", log_path.read_text())
            if found:
                port = int(found.group(1))
                break
            time.sleep(0.1)
        if port is None:
            print("soak: the exporter did not start:\n" + log_path.read_text(), file=sys.stderr)
            return 2
        enter_netns(name)
        url = f"http://127.0.0.1:{port}/metrics"
        start = time.monotonic()
        end = start + args.minutes * 60
        next_sample = start
        next_churn = start + 5
        offset = args.entries
        scrapes = failures = 0
        series = []
        print(f"soak: {args.minutes:g} min, scrapes every 100 ms, {args.entries} entries + 1000 "
              f"new every 5 s, table and netns workers every 1 s (exporter pid {process.pid})")
        print(f"{'seconds':>8} {'rss_kib':>8} {'fds':>4} {'threads':>7} {'scrapes':>8} "
              f"{'failed':>6} {'entries':>8}")
        while True:
            now = time.monotonic()
            if now >= next_sample:
                rss, fds, threads = sample(process.pid)
                entries = pathlib.Path("/proc/sys/net/netfilter/nf_conntrack_count").read_text()
                series.append((now - start, rss, fds, threads))
                print(f"{now - start:8.0f} {rss:8d} {fds:4d} {threads:7d} {scrapes:8d} "
                      f"{failures:6d} {int(entries):8d}", flush=True)
                next_sample += args.sample_seconds
            if now >= end:
                break
            if now >= next_churn:
                subprocess.run([str(ct_create), "--count=1000", "--proto=udp",
                                f"--src-offset={offset}", "--timeout=120"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                offset += 1000
                next_churn += 5
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    body = response.read()
                    failures += b'nf_conntrack_scrape_collector_success{collector="table"} 1' \
                        not in body
            except OSError:
                failures += 1
            scrapes += 1
            time.sleep(max(0.0, 0.1 - (time.monotonic() - now)))
        problems = verdict(series)
        print(f"scrapes: {scrapes}, failed or without a table: {failures}")
        print("verdict: " + ("flat" if not problems else "GREW: " + "; ".join(problems)))
        return 0 if not problems and failures == 0 else 1
    finally:
        if process is not None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        subprocess.run(["ip", "netns", "del", name], stderr=subprocess.DEVNULL)
        log_path.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
