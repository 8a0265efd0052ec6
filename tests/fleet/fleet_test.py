#!/usr/bin/env python3
"""The fleet: several exporters, each on a "host" of its own, scraped by one real Prometheus with
the shipped rules (alerts/*.yml) under a job name that is not the default.

Each node is a network namespace this test creates (nfct-fleet-<pid>-n<i>) with its exporter in a
PID namespace and /proc of its own (`ip netns exec` + `unshare --pid --mount-proc`) and an empty
/run/netns, so that its netns collector sees that node only, as on a real host. One more node,
"bare", runs the exporter on tests/fixtures/roots/no_module (--path.procfs): a real scrape of a
host without nf_conntrack. Prometheus runs in a namespace of its own (nfct-fleet-<pid>-prom),
reaching node i at 198.18.<i>.2 over a veth pair; this process joins that namespace to query it
on 127.0.0.1. Scrape and evaluation every 1 s; the shipped `for:` durations are unchanged (an
alert that must stay silent must not even be pending, which needs no waiting for `for:`).

  1. steady: the nodes hold different numbers of ASSURED entries (created over netlink). Every
     target is up; no alert is firing or pending (NfConntrackExporterDown and
     NfConntrackCollectorFailing included, the bare host included, which reports
     nf_conntrack_module_loaded 0 and its conntrack collectors unavailable); the fleet
     dashboard's usage ranking is the order of the fills.
  2. drops: the least full node's table is filled to the global nf_conntrack_max (unchanged)
     and new flows are sent to a veth whose peer is down, so the kernel drops them.
     NfConntrackDroppingPackets and NfConntrackNetnsDroppingPackets fire, naming that node
     only, and no alert names any other node; the ranking puts that node first.
  3. every panel and variable query of the fleet dashboard returns data from this Prometheus.

Needs root. Exit 0 pass, 1 fail, 77 skip with the reason. Every process is stopped by its PID,
every namespace deleted by name, on every exit path; no global sysctl is written.
"""

import argparse
import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "pylib"))
import nfct_dashboards as D  # noqa: E402
import nfct_servers as S  # noqa: E402

CLONE_NEWNET = 0x40000000
JOB = "conntrack-fleet"  # not nf_conntrack: the rules must not depend on the job name
PORT = 9725
SINK_ADDR = "203.0.113.9"  # behind a veth whose peer is down, inside the node's netns
RULESET_PATH = os.path.join(ROOT, "tests", "support", "test_netns.nft")
NO_MODULE_ROOT = os.path.join(ROOT, "tests", "fixtures", "roots", "no_module", "proc")
# Entries per node, in node order: the expected ranking is not the node order. The last node
# with the fewest entries is the one that will drop.
FILLS = [3000, 9000, 5000, 1000]
DROPPER = 3
NAME_PATTERN = r"nfct-fleet-(\d+)-(?:n\d+|bare|prom)"

FAILURES = S.FAILURES
check, run, read_int = S.check, S.run, S.read_int


def add_netns(name, cleanup):
    run(["ip", "netns", "add", name])
    cleanup.push(f"delete netns {name}", lambda: run(["ip", "netns", "del", name], check_rc=False))
    run(["ip", "-n", name, "link", "set", "lo", "up"])
    # IPv6 off inside (per netns): nothing but this test's own flows gets tracked.
    for conf in ("all", "default"):
        run(["ip", "netns", "exec", name, "sysctl", "-qw", f"net.ipv6.conf.{conf}.disable_ipv6=1"])


def connect(prom_ns, node_ns, i):
    """A veth pair: 198.18.<i>.1 in Prometheus's namespace, 198.18.<i>.2 on the node."""
    run(["ip", "-n", prom_ns, "link", "add", f"fleet{i}", "type", "veth", "peer", "name", "uplink",
         "netns", node_ns])
    run(["ip", "-n", prom_ns, "addr", "add", f"198.18.{i}.1/24", "dev", f"fleet{i}"])
    run(["ip", "-n", node_ns, "addr", "add", f"198.18.{i}.2/24", "dev", "uplink"])
    run(["ip", "-n", prom_ns, "link", "set", f"fleet{i}", "up"])
    run(["ip", "-n", node_ns, "link", "set", "uplink", "up"])
    return f"198.18.{i}.2:{PORT}"


def make_node(name, tmp):
    """Conntrack on for new flows (the shared test ruleset), the scrape port untracked so that
    scrapes survive a full table, and a sink for new flows."""
    run(["ip", "netns", "exec", name, "nft", "-f", RULESET_PATH])
    untrack = os.path.join(tmp, "untrack-scrapes.nft")
    with open(untrack, "w") as f:
        f.write(f"""table inet nfct_fleet {{
  chain raw_prerouting {{ type filter hook prerouting priority raw; policy accept; tcp dport {PORT} notrack; }}
  chain raw_output {{ type filter hook output priority raw; policy accept; tcp sport {PORT} notrack; }}
}}
""")
    run(["ip", "netns", "exec", name, "nft", "-f", untrack])
    ns = ["ip", "-n", name]
    run(ns + ["link", "add", "sink0", "type", "veth", "peer", "name", "sink1"])
    run(ns + ["addr", "add", "203.0.113.1/24", "dev", "sink0"])
    run(ns + ["link", "set", "sink0", "up"])
    run(ns + ["neigh", "add", SINK_ADDR, "lladdr", "02:00:00:00:00:01", "dev", "sink0", "nud", "permanent"])


def start_exporter(name, exporter, flags, tmp, cleanup):
    """The exporter as PID 1 of a PID namespace with its own /proc, in netns `name`, with an
    empty /run/netns: a host of its own. --kill-child: it dies with the unshare we stop by PID."""
    script = 'mount -t tmpfs -o size=1m nfct-fleet /run/netns && exec "$0" "$@"'
    argv = ["ip", "netns", "exec", name, "unshare", "--pid", "--mount-proc", "--kill-child=SIGTERM",
            "sh", "-c", script, exporter, f"--web.listen-address=:{PORT}", *flags]
    proc = S.Proc(f"exporter {name}", argv, os.path.join(tmp, f"exporter-{name}.log"), cleanup)

    def stop_child():
        # unshare blocks SIGTERM while it waits: the exporter (its one child, by PID) is asked
        # first, and unshare then exits with it; Proc.stop still stops unshare by its PID.
        try:
            with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
                children = [int(c) for c in f.read().split()]
        except OSError:
            return
        for child in children:
            os.kill(child, signal.SIGTERM)
        try:
            proc.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    cleanup.push(f"stop the exporter under {name}'s unshare", stop_child)
    return proc


def enter(name):
    """Moves this still single-threaded process into netns `name`; its children follow."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
    finally:
        os.close(fd)


def ct_create(tool, node, n, offset):
    r = run(["ip", "netns", "exec", node, tool, f"--count={n}", "--proto=udp", "--status=assured",
             "--dport=53", "--timeout=7200", f"--src-offset={offset}"], check_rc=False)
    if r.returncode != 0:
        raise RuntimeError(f"ct_create in {node} failed: {(r.stdout + r.stderr).strip()}")


def node_count(node):
    return int(run(["ip", "netns", "exec", node, "cat", "/proc/sys/net/netfilter/nf_conntrack_count"]).stdout)


SENDER = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sent = eperm = 0
port = 1024
deadline = time.monotonic() + float(sys.argv[1])
while time.monotonic() < deadline:
    for _ in range(200):
        port = port + 1 if port < 65000 else 1024
        try:
            s.sendto(b"x", (sys.argv[2], port)); sent += 1
        except PermissionError:
            eperm += 1
    time.sleep(0.2)
print(sent, eperm)
"""


def ranking(prom, expr):
    """Instances of a ranking query, highest value first."""
    res = prom.query(expr)
    return [r["metric"].get("instance") for r in sorted(res, key=lambda r: -float(r["value"][1]))]


def alerts_by_instance(prom):
    out = {}
    for a in prom.alerts():
        out.setdefault(a["labels"].get("instance"), []).append((a["labels"]["alertname"], a["state"]))
    return out


def run_fleet(args, help_text, tmp, cleanup, state):
    pid = os.getpid()
    prom_ns = f"nfct-fleet-{pid}-prom"
    add_netns(prom_ns, cleanup)
    nodes, targets = [], []
    for i in range(len(FILLS)):
        node = f"nfct-fleet-{pid}-n{i}"
        add_netns(node, cleanup)
        targets.append(connect(prom_ns, node, i))
        make_node(node, tmp)
        nodes.append(node)
    bare = f"nfct-fleet-{pid}-bare"
    add_netns(bare, cleanup)
    bare_target = connect(prom_ns, bare, len(FILLS))

    if not os.path.exists("/proc/sys/net/netfilter/nf_conntrack_max"):
        S.skip("no /proc/sys/net/netfilter/nf_conntrack_max: this kernel has no nf_conntrack")
    limit = read_int("/proc/sys/net/netfilter/nf_conntrack_max")
    state.update(limit=limit, buckets=read_int("/proc/sys/net/netfilter/nf_conntrack_buckets"))
    if limit == 0:
        S.skip("nf_conntrack_max is 0 (unlimited): a table that cannot fill cannot drop")
    if limit > args.max_entries:
        S.skip(f"nf_conntrack_max={limit} is above --max-entries={args.max_entries}: filling it would take too long")
    S.log(f"global nf_conntrack_max={limit}")

    for i, (node, n) in enumerate(zip(nodes, FILLS)):
        ct_create(args.ct_create, node, n, i * 100000)
        check(node_count(node) == n, f"node {i} holds {n} entries")

    # Short worker intervals so the table and netns collectors report within seconds. The kernel
    # log is host-wide (every node here shares one kernel), so only the dropping node reads it:
    # the fleet dashboard's kernel-log panel gets its lines, no other node hears of them.
    fast = [f for f in ("--collector.table.interval=2s", "--collector.netns.interval=2s")
            if f.split("=")[0] in help_text]
    # The refused collector's BPF program, too, sees every namespace's refusals: the dropping
    # node runs it, so the fleet's refused panel is checked against the refusals it counts.
    refused = (["--collector.refused", "--collector.refused.interval=2s"]
               if "--[no-]collector.refused" in help_text else [])
    exporters = []
    for i, node in enumerate(nodes):
        own = ["--collector.kmsg", *refused] if i == DROPPER else ["--no-collector.kmsg"]
        exporters.append(start_exporter(node, args.exporter, [*own, *fast], tmp, cleanup))
    exporters.append(start_exporter(bare, args.exporter, [f"--path.procfs={NO_MODULE_ROOT}", "--no-collector.kmsg"],
                                    tmp, cleanup))

    enter(prom_ns)  # before any thread of this process starts
    prom_port = S.free_port()
    rules = sorted(os.path.join(args.rules_dir, f) for f in os.listdir(args.rules_dir)
                   if f.endswith(".yml") and "groups:" in open(os.path.join(args.rules_dir, f)).read())
    with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
        f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [{', '.join(rules)}]
scrape_configs:
  - job_name: {JOB}
    static_configs:
      - targets: [{', '.join(repr(t) for t in targets + [bare_target])}]
""")
    prom_proc = S.Proc("prometheus", [
        args.prometheus, f"--config.file={tmp}/prometheus.yml", f"--storage.tsdb.path={tmp}/prom",
        f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"],
        os.path.join(tmp, "prometheus.log"), cleanup)
    S.wait_http_ok(f"http://127.0.0.1:{prom_port}/-/ready", 60, prom_proc)
    prom = S.Prom(f"http://127.0.0.1:{prom_port}")
    t_start = time.time()
    loaded = S.http_json(f"{prom.base}/api/v1/rules")["data"]["groups"]
    check(sorted(g["name"] for g in loaded) == ["nf_conntrack.alerts", "nf_conntrack.rules"],
          f"Prometheus loaded the shipped rule groups from {rules}")

    # ---- 1. steady ----------------------------------------------------------------------
    S.wait_until("every target up", lambda: prom.scalar(f'count(up{{job="{JOB}"}} == 1)') == len(targets) + 1, 30)
    S.wait_until("every node's usage recorded",
                 lambda: prom.scalar("count(instance:nf_conntrack_entries_usage:ratio)") == len(nodes), 30)
    S.wait_until("the table and netns collectors reported on every node",
                 lambda: prom.scalar(f'count(nf_conntrack_scrape_collector_success{{instance!="{bare_target}"}} == 1)')
                 == prom.scalar(f'count(nf_conntrack_scrape_collector_success{{instance!="{bare_target}"}})'), 30)
    for p in exporters:
        if not p.alive():
            raise RuntimeError(f"{p.name} exited:\n{p.tail()}")
    time.sleep(args.steady_seconds)
    t_steady_end = time.time()
    window = f"{int(t_steady_end - t_start)}s"
    never = prom.query(f'max_over_time(ALERTS{{alertname=~"NfConntrackExporterDown|NfConntrackCollectorFailing"}}[{window}])')
    check(never == [], f"no exporter-down or collector-failing alert, firing or pending, since start: {never}")
    # The dropping node reads the host-wide kernel log: another process's table-full lines (a
    # netns that is none of this fleet's) are reported there by design, and are not this fleet's.
    ours = {str(os.stat(f"/run/netns/{n}").st_ino) for n in nodes + [bare]}
    steady = [r["metric"] for r in prom.query(f"max_over_time(ALERTS[{int(args.steady_seconds)}s])")]
    foreign = [m for m in steady if m["alertname"] == "NfConntrackKernelLogTableFull" and m.get("netns") not in ours]
    if foreign:
        print(f"note: the host's kernel log reported table-full lines of netns outside this test: "
              f"{sorted({m.get('netns') for m in foreign})}", flush=True)
    steady = [m for m in steady if m not in foreign]
    check(steady == [], f"steady fleet: no alert at all, firing or pending: {steady}")
    check(prom.scalar(f'count(up{{job="{JOB}"}} == 1)') == len(targets) + 1,
          f"all {len(targets) + 1} targets up under job {JOB}")
    check(prom.scalar(f'nf_conntrack_module_loaded{{instance="{bare_target}"}}') == 0 and
          prom.scalar(f'count(nf_conntrack_scrape_collector_success{{instance="{bare_target}"}} == 0)') >= 3,
          "the bare host: module_loaded 0, its conntrack collectors unavailable, and no alert (above)")
    expected = [targets[i] for i in sorted(range(len(FILLS)), key=lambda i: -FILLS[i])]
    fleet = D.load(os.path.join(args.dashboards, "nf_conntrack-fleet.json"))
    top = [e for w, e, _ in D.queries(fleet) if w.startswith("panel 'Table usage, 10 fullest'")][0]
    values = {"cluster": ".*", "job": JOB}
    got = ranking(prom, D.substitute(top, values))
    check(got == expected, f"fleet ranking 'Table usage, 10 fullest' is {got}, expected {expected}")
    table = [e for w, e, _ in D.queries(fleet) if w == "panel 'All instances, fullest first' A"][0]
    got = ranking(prom, D.substitute(table, values))
    check(got == expected, f"fleet table 'All instances, fullest first' (sorted by usage) is {got}")

    # ---- 2. one node drops ----------------------------------------------------------------
    dropper, dropper_target = nodes[DROPPER], targets[DROPPER]
    t0 = time.monotonic()
    ct_create(args.ct_create, dropper, limit - node_count(dropper), 1000000)
    check(node_count(dropper) == limit, f"node {DROPPER}'s table filled to the limit ({limit}) in "
          f"{time.monotonic() - t0:.1f}s")
    sender = run(["ip", "netns", "exec", dropper, sys.executable, "-c", SENDER, str(args.drop_seconds), SINK_ADDR])
    sent, eperm = map(int, sender.stdout.split())
    check(eperm > 0, f"the kernel dropped new flows on node {DROPPER}: {eperm} sendto EPERM, {sent} sent")
    drop_alerts = ("NfConntrackDroppingPackets", "NfConntrackNetnsDroppingPackets")
    try:
        S.wait_until("both drop alerts firing", lambda: {
            a["labels"]["alertname"] for a in prom.alerts()
            if a["state"] == "firing" and a["labels"]["alertname"] in drop_alerts} == set(drop_alerts), 30)
    except TimeoutError as e:
        check(False, str(e))
    by_instance = alerts_by_instance(prom)
    for name in drop_alerts:
        named = sorted({i for i, alerts in by_instance.items() for n, _ in alerts if n == name})
        check(named == [dropper_target], f"{name} names only the dropping node {dropper_target}: {named}")
    others = {i: a for i, a in by_instance.items() if i != dropper_target}
    check(others == {}, f"no alert names any other node: {others}")
    got = ranking(prom, D.substitute(top, values))
    check(got and got[0] == dropper_target, f"the dropping node ranks first now: {got}")

    # ---- 3. the fleet dashboard against this Prometheus -----------------------------------
    now = time.time()
    have = {r["metric"].get("collector") for r in prom.query("nf_conntrack_scrape_collector_success == 1")}
    values.update({"__rate_interval": "4s", "__range": f"{int(now - t_start)}s", "__interval": "2s"})
    checked, skipped = D.live_check(prom, fleet, values, t_start, now, "2s", have, check, "fleet dashboard: ")
    check(skipped == [], f"fleet dashboard: {checked} queries returned data, none skipped: {skipped}")

    for p in [*exporters, prom_proc]:
        check(p.alive(), f"{p.name} ran until the end")
        if not p.alive():
            print(p.tail())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exporter", required=True)
    ap.add_argument("--ct-create", required=True)
    ap.add_argument("--prometheus", default=shutil.which("prometheus") or "")
    ap.add_argument("--rules-dir", default=os.path.join(ROOT, "alerts"))
    ap.add_argument("--dashboards", default=os.path.join(ROOT, "dashboards"))
    ap.add_argument("--steady-seconds", type=int, default=15)
    ap.add_argument("--drop-seconds", type=float, default=10)
    ap.add_argument("--max-entries", type=int, default=4_194_304)
    args = ap.parse_args()

    if os.geteuid() != 0:
        S.skip("needs root (network and PID namespaces, nftables, netlink)")
    for tool, package in (("ip", "iproute2"), ("nft", "nftables"), ("unshare", "util-linux")):
        if not shutil.which(tool):
            S.skip(f"needs {tool} (Debian package {package})")
    for what, path in (("exporter", args.exporter), ("ct_create", args.ct_create),
                       ("prometheus (Debian package prometheus)", args.prometheus)):
        if not path or not os.access(path, os.X_OK):
            S.skip(f"needs {what}: {path!r} not executable")
    help_text = run([args.exporter, "--help"], check_rc=False).stdout

    S.remove_stale_netns(NAME_PATTERN)
    with tempfile.TemporaryDirectory(prefix="nfct-fleet-") as tmp, S.Cleanup() as cleanup:
        state = {}
        try:
            run_fleet(args, help_text, tmp, cleanup, state)
        except (RuntimeError, OSError, TimeoutError, KeyError, ValueError) as e:
            check(False, f"{type(e).__name__}: {e}")

    if state:
        check(read_int("/proc/sys/net/netfilter/nf_conntrack_max") == state["limit"] and
              read_int("/proc/sys/net/netfilter/nf_conntrack_buckets") == state["buckets"],
              "global nf_conntrack_max and buckets unchanged (this test never writes them)")
    left = [n for n in os.listdir("/run/netns") if re.fullmatch(NAME_PATTERN, n) and n.split("-")[2] == str(os.getpid())]
    check(left == [], f"every namespace of this run removed: {left}")
    print(f"{'FAILED' if FAILURES else 'PASSED'}: {len(FAILURES)} failed checks", flush=True)
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
