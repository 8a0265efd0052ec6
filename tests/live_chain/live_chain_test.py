#!/usr/bin/env python3
"""The live chain: exporter -> Prometheus (shipped rules) -> Alertmanager (shipped routing)
-> webhook, on a real kernel whose conntrack table really fills and really drops.

Everything runs inside a network namespace this test creates (nfct-chain-<pid>): the
exporter, Prometheus (scrape and rule evaluation every 1 s), Alertmanager (gossip off,
the example config with only its webhook URLs pointed at a receiver in this process),
all on that namespace's 127.0.0.1, on ports picked at run time, data in a temp dir.
Loopback is untracked (nftables `notrack` at priority raw) so scrapes and notifications
survive a full table; an output rule with `ct state` makes the kernel track everything
else. New flows go to 198.19.0.1 through a veth whose peer is down: tracked, then gone.

  1. steady: the table is filled to exactly 50 % of the (unchanged, global)
     nf_conntrack_max with ASSURED entries over netlink, in mixed states. For a while
     nothing may fire or even be pending, and the webhook gets nothing.
  2. full: the table is filled to the limit with ASSURED entries (which the kernel
     cannot evict) and new flows are sent, so packets drop (sendto gets EPERM).
     NfConntrackDroppingPackets must reach the pager webhook; the seconds from the first
     dropped packet to delivery are printed (target <= 10 s).
  3. inhibition: NfConntrackTableNearlyFull and NfConntrackTableFull fire in
     Prometheus, reach Alertmanager and are inhibited there; the webhook never gets them.

Prometheus loads the shipped rules with every `for:` scaled by --for-scale (default 0.1:
the nearly-full alert's 5m becomes 30s), and nothing else changed (checked). Waiting out
the real 5 minutes would test only Prometheus's clock; when each alert fires and stays
silent at its real `for:` is what the promtool rule tests (tests/alerts/) check. Here the
chain is under test: expressions on live series, labels, routing, inhibition, latency.
The latency target is unaffected: NfConntrackDroppingPackets has no `for:`.
  4. dashboards: every panel, annotation and variable query of both dashboards returns
     data from this Prometheus. Queries of collectors this exporter build does not have
     (no nf_conntrack_scrape_collector_success{collector=...} series) are listed as
     skipped, never silently passed.

Needs root (netns, nftables, netlink). Exit 0 pass, 1 fail, 77 skip with the reason.
Every process is stopped by its PID and the netns deleted by name on every exit path;
no global sysctl is touched (checked at the end).
"""

import argparse
import ctypes
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import yaml  # python3-yaml (scripts/install-deps.sh test)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "pylib"))
import nfct_dashboards as D  # noqa: E402
import nfct_servers as S  # noqa: E402

CLONE_NEWNET = 0x40000000
SINK_ADDR = "198.19.0.1"
# The same ruleset as every C++ kernel test (loopback untracked, conntrack on new flows).
RULESET_PATH = os.path.join(ROOT, "tests", "support", "test_netns.nft")

FAILURES = S.FAILURES
check, run, read_int = S.check, S.run, S.read_int


def humanize(value):
    """Prometheus's template function humanize: %.4g with a metric prefix (640000 -> 640k)."""
    for prefix in ("", "k", "M", "G", "T"):
        if abs(value) < 1000:
            return f"{value:.4g}{prefix}"
        value /= 1000
    return f"{value:.4g}P"


# --------------------------------------------------------------------------------------
# The test network namespace
# --------------------------------------------------------------------------------------

class Netns:
    def __init__(self, name, cleanup):
        self.name = name
        run(["ip", "netns", "add", name])
        cleanup.push(f"delete netns {name}", lambda: run(["ip", "netns", "del", name], check_rc=False))
        S.log(f"created netns {name}")
        ns = ["ip", "-n", name]
        run(ns + ["link", "set", "lo", "up"])
        # IPv6 off inside (a per-netns setting): nothing but our own flows gets tracked.
        run(["ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
        run(["ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"])
        run(ns + ["link", "add", "sink0", "type", "veth", "peer", "name", "sink1"])
        run(ns + ["addr", "add", "198.18.0.1/15", "dev", "sink0"])
        run(ns + ["link", "set", "sink0", "up"])
        run(ns + ["neigh", "add", SINK_ADDR, "lladdr", "02:00:00:00:00:01", "dev", "sink0", "nud", "permanent"])
        r = subprocess.run(["ip", "netns", "exec", name, "nft", "-f", RULESET_PATH], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"nft -f failed: {r.stderr.strip()}")

    def enter(self):
        """Moves this (still single-threaded) process into the netns; threads and children follow."""
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(f"/run/netns/{self.name}", os.O_RDONLY | os.O_CLOEXEC)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns")
        finally:
            os.close(fd)


def count():
    return read_int("/proc/sys/net/netfilter/nf_conntrack_count")


def assert_limit(limit):
    """Fails clearly when something else on the machine moves the global limit mid-test."""
    now = read_int("/proc/sys/net/netfilter/nf_conntrack_max")
    if now != limit:
        raise RuntimeError(f"global nf_conntrack_max changed from {limit} to {now} during the test: another "
                           "process on this machine writes it; a table cannot be filled to a moving limit")


_DURATION = re.compile(r"(\d+)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def scaled_rules(src, dst, scale):
    """Writes the rule file src to dst with every alert's `for:` multiplied by scale (whole
    seconds, at least 1 s); returns {alert: (old, new)}. Raises if anything else differs."""
    with open(src) as f:
        doc = yaml.safe_load(f)
    changed = {}
    for group in doc["groups"]:
        for rule in group["rules"]:
            if "for" not in rule:
                continue
            old = rule["for"]
            parts = _DURATION.findall(old)
            if not parts or "".join(n + u for n, u in parts) != old:
                raise ValueError(f"cannot parse for: {old!r} of {rule.get('alert')}")
            seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)
            rule["for"] = f"{max(1, round(seconds * scale))}s"
            changed[rule["alert"]] = (old, rule["for"])
    with open(dst, "w") as f:
        yaml.safe_dump(doc, f, sort_keys=False)
    with open(src) as f:
        original = yaml.safe_load(f)
    for group in original["groups"]:
        for rule in group["rules"]:
            rule.pop("for", None)
    for group in doc["groups"]:
        for rule in group["rules"]:
            rule.pop("for", None)
    if original != doc:
        raise ValueError("scaling for: changed more than the for: durations")
    return changed


def ct_create(tool, n, flags, limit):
    r = subprocess.run([tool, f"--count={n}", *flags], capture_output=True, text=True)
    out = (r.stdout + r.stderr).strip()
    assert_limit(limit)
    if r.returncode != 0:
        raise RuntimeError(f"ct_create {flags} failed: {out}")
    return out


class FlowSender:
    """New UDP flows to the sink: each datagram needs a new entry. Bounded in rate and time."""

    def __init__(self, per_second, max_seconds):
        self.per_second = per_second
        self.max_seconds = max_seconds
        self.sent = self.eperm = self.other = 0
        self.first_eperm = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        port = 1024
        deadline = time.monotonic() + self.max_seconds
        try:
            while not self._stop.is_set() and time.monotonic() < deadline:
                for _ in range(self.per_second):
                    port = port + 1 if port < 65000 else 1024
                    try:
                        s.sendto(b"x", (SINK_ADDR, port))
                        self.sent += 1
                    except PermissionError:
                        if self.first_eperm is None:
                            self.first_eperm = time.monotonic()
                        self.eperm += 1
                    except OSError:
                        self.other += 1
                self._stop.wait(1)
        finally:
            s.close()


# --------------------------------------------------------------------------------------
# Prometheus helpers
# --------------------------------------------------------------------------------------

Prom = S.Prom  # shared with tests/fleet: tests/pylib/nfct_servers.py


def exporter_collectors(exporter):
    """Collector names this exporter build knows, from its --help."""
    r = subprocess.run([exporter, "--help"], capture_output=True, text=True)
    text = r.stdout + r.stderr
    return set(re.findall(r"--\[no-\]collector\.(\w+)\s", text)), text


# --------------------------------------------------------------------------------------
# The test
# --------------------------------------------------------------------------------------

def preflight(args):
    if os.geteuid() != 0:
        S.skip("needs root (network namespace, nftables, netlink)")
    for tool, package in (("ip", "iproute2"), ("nft", "nftables"), ("conntrack", "conntrack")):
        if not shutil.which(tool):
            S.skip(f"needs {tool} (Debian package {package})")
    for what, path in (("exporter", args.exporter), ("ct_create", args.ct_create),
                       ("prometheus (Debian package prometheus)", args.prometheus),
                       ("prometheus-alertmanager (Debian package prometheus-alertmanager)", args.alertmanager)):
        if not path or not os.access(path, os.X_OK):
            S.skip(f"needs {what}: {path!r} not executable")


def check_limit(args):
    """The global limit, read once the netns's nftables rule has loaded nf_conntrack."""
    if not os.path.exists("/proc/sys/net/netfilter/nf_conntrack_max"):
        S.skip("no /proc/sys/net/netfilter/nf_conntrack_max: this kernel has no nf_conntrack")
    limit = read_int("/proc/sys/net/netfilter/nf_conntrack_max")
    if limit == 0:
        S.skip("nf_conntrack_max is 0 (unlimited): a table that cannot fill cannot drop")
    if limit > args.max_entries:
        S.skip(f"nf_conntrack_max={limit} is above --max-entries={args.max_entries}: filling it would take too long")
    return limit


def run_chain(args, collectors, help_text, tmp, cleanup, state):
    """Steps 1-4 of the module docstring; raises on an environment error."""
    netns = Netns(f"nfct-chain-{os.getpid()}", cleanup)
    netns.enter()
    limit = check_limit(args)
    buckets_before = read_int("/proc/sys/net/netfilter/nf_conntrack_buckets")
    state.update(limit=limit, buckets=buckets_before)
    S.log(f"global nf_conntrack_max={limit} buckets={buckets_before}; exporter collectors: {sorted(collectors)}")
    check(count() == 0, f"fresh netns has an empty table (count {count()})")

    # ---- 1. steady at 50 % ---------------------------------------------------------
    half = limit // 2
    tw, est = min(16384, half // 8), min(16384, half // 8)
    t0 = time.monotonic()
    ct_create(args.ct_create, tw, ["--proto=tcp", "--state=time_wait", "--status=assured", "--dport=443",
                                   "--dports=3", "--timeout=7200", "--src-offset=0"], limit)
    ct_create(args.ct_create, est, ["--proto=tcp", "--state=established", "--status=assured", "--dport=80",
                                    "--dports=2", "--timeout=7200", "--src-offset=1000000"], limit)
    ct_create(args.ct_create, half - tw - est, ["--proto=udp", "--status=assured", "--dport=53",
                                                "--timeout=7200", "--src-offset=2000000"], limit)
    check(count() == half, f"table filled to 50 %: {count()} of {limit} in {time.monotonic() - t0:.1f}s")

    hook = S.Webhook(cleanup)
    exp_port, am_port, prom_port = S.free_port(), S.free_port(), S.free_port()
    exporter_flags = [f"--web.listen-address=127.0.0.1:{exp_port}"]
    for name in ("kmsg", "table"):
        if name in collectors:
            exporter_flags.append(f"--collector.{name}")
    # The netns collector walks every process of the machine, so it would also report (and
    # page for) the namespaces other tests on this machine fill; its rules have unit tests.
    if "netns" in collectors:
        exporter_flags.append("--no-collector.netns")
    if "--collector.table.interval" in help_text:
        exporter_flags.append("--collector.table.interval=2s")
    # The opt-in BPF collector, so its dashboard panels are checked against live refusals (they
    # are skipped below when it cannot load here: no BTF, or no CAP_BPF).
    if "refused" in collectors:
        exporter_flags += ["--collector.refused", "--collector.refused.interval=1s"]
    exporter = S.Proc("exporter", [args.exporter, *exporter_flags], os.path.join(tmp, "exporter.log"), cleanup)
    S.wait_http_ok(f"http://127.0.0.1:{exp_port}/metrics", 30, exporter)

    am_text, rewritten = S.rewrite_webhook_urls(open(args.am_config).read(), hook.url)
    check(set(rewritten) == {"pager", "ticket"}, f"Alertmanager webhooks pointed at this test: {rewritten}")
    with open(os.path.join(tmp, "alertmanager.yml"), "w") as f:
        f.write(am_text)
    am = S.Proc("alertmanager", [
        args.alertmanager, f"--config.file={tmp}/alertmanager.yml", f"--storage.path={tmp}/am",
        f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=", "--log.level=warn"],
        os.path.join(tmp, "alertmanager.log"), cleanup)
    S.wait_http_ok(f"http://127.0.0.1:{am_port}/-/ready", 30, am)

    rules_path = os.path.join(tmp, "nf_conntrack.rules.yml")
    changed = scaled_rules(args.rules, rules_path, args.for_scale)
    check(changed.get("NfConntrackTableNearlyFull", ("", ""))[0] != "",
          "shipped rules loaded with for: scaled by " f"{args.for_scale}: "
          + ", ".join(f"{k} {a}->{b}" for k, (a, b) in sorted(changed.items())))
    with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
        f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
  external_labels:
    cluster: live-chain
rule_files:
  - {rules_path}
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:{am_port}']
scrape_configs:
  - job_name: nf_conntrack
    static_configs:
      - targets: ['127.0.0.1:{exp_port}']
""")
    prom_proc = S.Proc("prometheus", [
        args.prometheus, f"--config.file={tmp}/prometheus.yml", f"--storage.tsdb.path={tmp}/prom",
        f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"],
        os.path.join(tmp, "prometheus.log"), cleanup)
    S.wait_http_ok(f"http://127.0.0.1:{prom_port}/-/ready", 60, prom_proc)
    prom = Prom(f"http://127.0.0.1:{prom_port}")
    instance = f"127.0.0.1:{exp_port}"
    rules = S.http_json(f"{prom.base}/api/v1/rules")["data"]["groups"]
    check(sorted(g["name"] for g in rules) == ["nf_conntrack.alerts", "nf_conntrack.rules"],
          f"Prometheus loaded the shipped rule groups ({sum(len(g['rules']) for g in rules)} rules)")
    S.wait_until("the usage ratio is recorded",
                 lambda: prom.scalar(f'instance:nf_conntrack_entries_usage:ratio{{instance="{instance}"}}') is not None, 30)
    # Rules rendered with an exporterSelector have an absent(up{...}) that is true, and so
    # pending, in the evaluations before Prometheus's first scrape (the shipped ones have none);
    # the steady window starts once any start-up state is over, and from then on nothing may
    # fire or be pending.
    S.wait_until("no alert left from Prometheus's start", lambda: prom.query("ALERTS") == [], 30)
    time.sleep(2)  # the window below starts 1 s early: past the stale marker that ended it
    t_prom_start = time.time()

    S.log(f"steady phase: {args.steady_seconds}s at 50 %")
    steady_start = time.time()
    time.sleep(args.steady_seconds)
    steady_end = time.time()
    usage = prom.query_range(f'instance:nf_conntrack_entries_usage:ratio{{instance="{instance}"}}',
                             steady_start, steady_end, "1s")
    values = [float(v) for _, v in usage[0]["values"]] if usage else []
    check(values and min(values) == max(values) == 0.5,
          f"Prometheus saw the table at exactly 50 % throughout ({len(values)} samples)")
    active = prom.query_range("ALERTS", steady_start - 1, steady_end, "1s")
    check(active == [], "steady 50 %: no alert fired or was even pending: "
          + ", ".join(sorted({r['metric'].get('alertname', '?') + '/' + r['metric'].get('alertstate', '?') for r in active})))
    check(hook.deliveries == [], f"steady 50 %: the webhook received nothing ({len(hook.deliveries)} deliveries)")

    # ---- 2. full and dropping --------------------------------------------------------
    # Above 95 % the kernel's GC evicts ASSURED entries in closing TCP states too
    # (TIME_WAIT...), and every new flow could then evict the previous unreplied one
    # instead of being dropped. Leave only entries nothing can evict: ESTABLISHED TCP
    # and ASSURED UDP. (This deletes in the test's own netns only.)
    run(["conntrack", "-D", "-p", "tcp", "--state", "TIME_WAIT"], check_rc=False)
    check(count() == half - tw, f"TIME_WAIT entries removed before the fill ({count()} left)")
    out = ct_create(args.ct_create, limit - count(), ["--proto=udp", "--status=assured", "--dport=9",
                                                      "--timeout=7200", "--src-offset=5000000"], limit)
    check(count() == limit, f"table filled to the limit with ASSURED entries: {count()} of {limit} ({out})")
    sender = FlowSender(per_second=20, max_seconds=900)
    cleanup.push("stop flow sender", sender.stop)
    sender.start()
    S.wait_until("the first dropped packet", lambda: sender.first_eperm is not None, 10)
    t_drop = sender.first_eperm
    S.log(f"packets are dropping (sent={sender.sent} eperm={sender.eperm} other={sender.other})")

    def paged():
        for t, path, payload in list(hook.deliveries):
            for a in payload.get("alerts", []):
                labels = a.get("labels", {})
                if (labels.get("alertname") == "NfConntrackDroppingPackets" and a.get("status") == "firing"
                        and labels.get("instance") == instance):
                    return t, path, a
        return None
    try:
        t_page, path, page = S.wait_until("NfConntrackDroppingPackets at the webhook", paged, 120)
        desc = page.get("annotations", {}).get("description", "")
        print(f"page description: {desc}", flush=True)
        check("unknown" not in desc and f"of a limit of {humanize(limit)}" in desc,
              "the page names the live entries and limit")
        check(page["labels"].get("severity") == "critical" and page["labels"].get("cluster") == "live-chain",
              f"page labels: {page['labels']}")
        latency = t_page - t_drop
        print(f"MEASURED first dropped packet -> webhook delivery: {latency:.1f} s "
              f"(scrape 1 s, evaluation 1 s, pager group_wait 2 s)", flush=True)
        check(path == "/pager", f"dropping alert went to the pager receiver ({path})")
        check(latency <= args.max_latency, f"first drop -> page in {latency:.1f} s <= {args.max_latency:.0f} s")
    except TimeoutError as e:
        check(False, str(e))
    drops = prom.scalar(f'nf_conntrack_stat_drop_total{{instance="{instance}"}}')
    check(drops is not None and drops > 0, f"Prometheus has nf_conntrack_stat_drop_total={drops} (sender saw {sender.eperm} EPERM)")

    # ---- 3. nearly full fires and is inhibited --------------------------------------
    S.log("waiting for NfConntrackTableNearlyFull (for: scaled) to fire and be inhibited")

    def am_state(name):
        got = S.http_json(f"http://127.0.0.1:{am_port}/api/v2/alerts", timeout=10)
        for a in got:
            if a["labels"].get("alertname") == name and a["labels"].get("instance") == instance:
                return a["status"]
        return None
    # Each alert's scaled for:, plus a minute for evaluation, Alertmanager and a busy machine.
    for name in ("NfConntrackTableFull", "NfConntrackTableNearlyFull"):
        wait = 60 + int(changed[name][1].rstrip("s"))
        try:
            st = S.wait_until(f"{name} in Alertmanager", lambda: am_state(name), wait, interval=2)
            check(st["state"] == "suppressed" and st.get("inhibitedBy"),
                  f"{name} on {instance} is inhibited in Alertmanager (state {st['state']}, by {len(st.get('inhibitedBy') or [])})")
        except TimeoutError as e:
            check(False, str(e))
    time.sleep(2)
    firing = {a["labels"]["alertname"] for a in prom.alerts() if a["state"] == "firing"}
    check({"NfConntrackDroppingPackets", "NfConntrackTableFull", "NfConntrackTableNearlyFull"} <= firing,
          f"firing in Prometheus: {sorted(firing)}")
    delivered = {(l.get("alertname"), p) for _, p, s, l in hook.alerts() if l.get("instance") == instance}
    for name in ("NfConntrackTableNearlyFull", "NfConntrackTableFull", "NfConntrackTableFillingUp",
                 "NfConntrackEvictingEntries", "NfConntrackKernelLogTableFull"):
        check(all(n != name for n, _ in delivered), f"{name} never reached the webhook")

    # ---- 4. every dashboard query returns data ---------------------------------------
    now = time.time()
    have = {r["metric"].get("collector") for r in prom.query("nf_conntrack_scrape_collector_success == 1")}
    values = {"cluster": ".*", "job": "nf_conntrack", "instance": instance, "__rate_interval": "4s",
              "__range": f"{int(now - t_prom_start)}s", "__interval": "2s"}
    skipped = []
    n_checked = 0
    for path in sorted(os.listdir(args.dashboards)):
        if not path.endswith(".json"):
            continue
        dash = D.load(os.path.join(args.dashboards, path))
        checked, skips = D.live_check(prom, dash, values, t_prom_start, now, "2s", have, check, f"{path}: ")
        n_checked += checked
        skipped += skips
    print(f"dashboard queries checked against live Prometheus: {n_checked}; skipped: {len(skipped)}", flush=True)
    for s in skipped:
        print(f"SKIPPED {s}", flush=True)

    sender.stop()
    assert_limit(limit)
    print(f"flows sent: {sender.sent}, dropped (EPERM): {sender.eperm}, other errors: {sender.other}", flush=True)
    for p in (exporter, am, prom_proc):
        check(p.alive(), f"{p.name} ran until the end")
        if not p.alive():
            print(p.tail())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exporter", required=True)
    ap.add_argument("--ct-create", required=True)
    ap.add_argument("--prometheus", default=shutil.which("prometheus") or "")
    ap.add_argument("--alertmanager", default=shutil.which("prometheus-alertmanager") or shutil.which("alertmanager") or "")
    ap.add_argument("--rules", default=os.path.join(ROOT, "alerts", "nf_conntrack.rules.yml"))
    ap.add_argument("--am-config", default=os.path.join(ROOT, "alerts", "alertmanager.example.yml"))
    ap.add_argument("--dashboards", default=os.path.join(ROOT, "dashboards"))
    # 30 s at 1 s intervals: 30 scrapes and evaluations of every rule at 50 %; an alert whose
    # expression is true there is pending from its first evaluation, whatever its for:.
    ap.add_argument("--steady-seconds", type=int, default=30)
    ap.add_argument("--for-scale", type=float, default=0.1,
                    help="factor for every alert's for: in the rules Prometheus loads (1 = as shipped)")
    ap.add_argument("--max-latency", type=float, default=10.0, help="first drop -> webhook, seconds")
    ap.add_argument("--max-entries", type=int, default=4_194_304)
    args = ap.parse_args()

    preflight(args)
    collectors, help_text = exporter_collectors(args.exporter)

    S.remove_stale_netns(r"nfct-chain-(\d+)")
    # Cleanup is the inner context: servers stop before their temp dir is removed.
    with tempfile.TemporaryDirectory(prefix="nfct-chain-") as tmp, S.Cleanup() as cleanup:
        state = {}
        try:
            run_chain(args, collectors, help_text, tmp, cleanup, state)
        except (RuntimeError, OSError, TimeoutError, KeyError, ValueError) as e:
            check(False, f"{type(e).__name__}: {e}")

    if state:
        check(read_int("/proc/sys/net/netfilter/nf_conntrack_max") == state["limit"] and
              read_int("/proc/sys/net/netfilter/nf_conntrack_buckets") == state["buckets"],
              "global nf_conntrack_max and buckets unchanged (this test never writes them)")
    check(not os.path.exists(f"/run/netns/nfct-chain-{os.getpid()}"), "test netns removed")
    print(f"{'FAILED' if FAILURES else 'PASSED'}: {len(FAILURES)} failed checks", flush=True)
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
