#!/usr/bin/env python3
"""Checks alerts/alertmanager.example.yml against the alerts it routes.

  routes       amtool check-config; `amtool config routes test` for every alert of the
               rules file: critical -> pager, warning -> ticket; other teams' alerts ->
               default, whatever their severity; every alert name in an inhibition exists.
  inhibitions  a real Alertmanager (loopback, gossip off, temp dir) with the example
               config, its webhook URLs pointed at a receiver run here: alerts are posted
               for several nodes and clusters; the API must show exactly the expected
               ones inhibited, and the pager/ticket receivers must get exactly the
               non-inhibited ones.

Exit 0 pass, 1 fail, 77 skip (tool missing). Standard library only.
"""

import argparse
import datetime
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import nfct_servers as S  # noqa: E402

FAILURES = []


def check(cond, msg):
    if cond:
        print(f"ok   {msg}")
    else:
        print(f"FAIL {msg}")
        FAILURES.append(msg)


def routes(args):
    alerts = S.alert_names_and_severities(args.rules)
    check(len(alerts) >= 10, f"found {len(alerts)} alerts in {args.rules}")
    r = subprocess.run([args.amtool, "check-config", args.config], capture_output=True, text=True)
    check(r.returncode == 0, f"amtool check-config: {r.stdout.strip().splitlines()[0:1]}{r.stderr.strip()}")

    expected_receiver = {"critical": "pager", "warning": "ticket"}
    for name, severity in sorted(alerts.items()):
        check(severity in expected_receiver, f"{name} has severity critical or warning (got {severity})")
        if severity not in expected_receiver:
            continue
        want = expected_receiver[severity]
        r = subprocess.run(
            [args.amtool, "config", "routes", "test", f"--config.file={args.config}",
             f"--verify.receivers={want}", f"alertname={name}", f"severity={severity}",
             "cluster=prod", "instance=node-a:9725", "job=nf_conntrack"],
            capture_output=True, text=True)
        check(r.returncode == 0 and r.stdout.strip() == want,
              f"{name} (severity={severity}) routes to {want} (amtool said {r.stdout.strip()!r})")

    # Another team's alerts never reach our receivers, whatever their severity: the
    # routes match this project's alert names only.
    for labels in (["alertname=SomethingElse"], ["alertname=KubeNodeDown", "severity=critical"],
                   ["alertname=DiskFull", "severity=warning", "instance=node-a:9725"]):
        r = subprocess.run(
            [args.amtool, "config", "routes", "test", f"--config.file={args.config}",
             "--verify.receivers=default", *labels], capture_output=True, text=True)
        check(r.returncode == 0 and r.stdout.strip() == "default",
              f"foreign alert {' '.join(labels)} routes to default, not pager or ticket (amtool said {r.stdout.strip()!r})")

    text = open(args.config).read()
    check(re.search(r"group_by:\s*\[alertname, cluster, instance\]", text) is not None,
          "the nf_conntrack route groups by [alertname, cluster, instance]")
    names_in_inhibits = set(re.findall(r"NfConntrack\w+", text.split("inhibit_rules:")[1].split("receivers:")[0]))
    for n in sorted(names_in_inhibits):
        check(n in alerts, f"inhibition names an existing alert: {n}")
    equals = re.findall(r"equal:\s*\[([^\]]*)\]", text)
    check(len(equals) >= 4 and all(e.replace(" ", "").startswith("cluster,instance") for e in equals),
          f"every inhibit rule has equal: [cluster, instance, ...] ({equals})")
    sources = re.findall(r"source_matchers:\s*\[([^\]]*)\]", text)
    check(all("NfConntrack" in m for m in sources), f"every inhibition source is one of ours ({sources})")


def inhibitions(args):
    if not args.alertmanager or not os.access(args.alertmanager, os.X_OK):
        S.skip("prometheus-alertmanager binary not found (Debian package prometheus-alertmanager)")
    # Cleanup is the inner context: Alertmanager stops before its temp dir is removed.
    with tempfile.TemporaryDirectory(prefix="nfct-am-") as tmp, S.Cleanup() as cleanup:
        hook = S.Webhook(cleanup)
        text, rewritten = S.rewrite_webhook_urls(open(args.config).read(), hook.url)
        check(set(rewritten) == {"pager", "ticket"}, f"webhook URLs rewritten: {rewritten}")
        cfg = os.path.join(tmp, "alertmanager.yml")
        with open(cfg, "w") as f:
            f.write(text)
        port = S.free_port()
        am = S.Proc("alertmanager", [
            args.alertmanager, f"--config.file={cfg}", f"--storage.path={tmp}/data",
            f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
            "--log.level=warn"], os.path.join(tmp, "am.log"), cleanup)
        base = f"http://127.0.0.1:{port}"
        S.wait_http_ok(f"{base}/-/ready", 30, am)

        now = datetime.datetime.now(datetime.timezone.utc)
        ends = (now + datetime.timedelta(minutes=10)).isoformat()
        starts = now.isoformat()

        def alert(name, severity, instance, cluster="prod", netns=None):
            labels = {"alertname": name, "severity": severity, "instance": instance,
                      "job": "nf_conntrack"}
            if netns is not None:
                labels["netns"] = netns
            if cluster is not None:
                labels["cluster"] = cluster
            return {"labels": labels, "annotations": {"summary": name},
                    "startsAt": starts, "endsAt": ends}

        posted = [
            # node-a/prod drops: everything else about node-a/prod is the same incident
            alert("NfConntrackDroppingPackets", "critical", "node-a:9725"),
            alert("NfConntrackTableFull", "critical", "node-a:9725"),
            alert("NfConntrackTableNearlyFull", "warning", "node-a:9725"),
            alert("NfConntrackTableFillingUp", "warning", "node-a:9725"),
            alert("NfConntrackEvictingEntries", "warning", "node-a:9725"),
            alert("NfConntrackKernelLogTableFull", "critical", "node-a:9725"),
            # unrelated problem on the dropping node is not hidden
            alert("NfConntrackCollectorFailing", "warning", "node-a:9725"),
            # another node of the same cluster, and the same node name in another cluster
            alert("NfConntrackTableNearlyFull", "warning", "node-b:9725"),
            alert("NfConntrackTableNearlyFull", "warning", "node-a:9725", cluster="staging"),
            # full inhibits nearly-full but not the page itself
            alert("NfConntrackTableFull", "critical", "node-c:9725"),
            alert("NfConntrackTableNearlyFull", "warning", "node-c:9725"),
            # chain too long hides the insert-failure ticket of the same node only
            alert("NfConntrackHashChainTooLong", "warning", "node-d:9725"),
            alert("NfConntrackInsertFailures", "warning", "node-d:9725"),
            alert("NfConntrackInsertFailures", "warning", "node-e:9725"),
            # no cluster label at all (single-cluster setups)
            alert("NfConntrackDroppingPackets", "critical", "node-f:9725", cluster=None),
            alert("NfConntrackTableNearlyFull", "warning", "node-f:9725", cluster=None),
            # a pod's netns drops: its own nearly-full and kernel-log alerts are hidden,
            # another netns of the same node is not
            alert("NfConntrackNetnsDroppingPackets", "critical", "node-g:9725", netns="4026532177"),
            alert("NfConntrackNetnsTableNearlyFull", "warning", "node-g:9725", netns="4026532177"),
            alert("NfConntrackKernelLogTableFull", "critical", "node-g:9725", netns="4026532177"),
            alert("NfConntrackNetnsTableNearlyFull", "warning", "node-g:9725", netns="4026532300"),
        ]
        S.http_json(f"{base}/api/v2/alerts", posted)
        t_posted = time.monotonic()

        def key(labels):
            k = (labels["alertname"], labels["instance"], labels.get("cluster", ""))
            return k + (labels["netns"],) if "netns" in labels else k

        want_inhibited = {
            ("NfConntrackTableFull", "node-a:9725", "prod"),
            ("NfConntrackTableNearlyFull", "node-a:9725", "prod"),
            ("NfConntrackTableFillingUp", "node-a:9725", "prod"),
            ("NfConntrackEvictingEntries", "node-a:9725", "prod"),
            ("NfConntrackKernelLogTableFull", "node-a:9725", "prod"),
            ("NfConntrackTableNearlyFull", "node-c:9725", "prod"),
            ("NfConntrackInsertFailures", "node-d:9725", "prod"),
            ("NfConntrackTableNearlyFull", "node-f:9725", ""),
            ("NfConntrackNetnsTableNearlyFull", "node-g:9725", "prod", "4026532177"),
            ("NfConntrackKernelLogTableFull", "node-g:9725", "prod", "4026532177"),
        }
        all_keys = {key(a["labels"]) for a in posted}

        def states():
            got = S.http_json(f"{base}/api/v2/alerts")
            return {key(a["labels"]): a["status"] for a in got}

        st = S.wait_until("all alerts visible", lambda: (lambda s: s if set(s) == all_keys else None)(states()), 20)
        for k in sorted(all_keys):
            inhibited = bool(st[k].get("inhibitedBy"))
            check(inhibited == (k in want_inhibited),
                  f"{k} {'inhibited' if k in want_inhibited else 'not inhibited'} (state {st[k]['state']})")

        # Deliveries: critical after the pager's 2 s group_wait, warnings after 30 s.
        want_delivered = {k for k in all_keys if k not in want_inhibited}
        severity = {key(a["labels"]): a["labels"]["severity"] for a in posted}

        def delivered():
            return {key(l): p for _, p, _, l in hook.alerts()}
        try:
            S.wait_until("every non-inhibited alert delivered",
                         lambda: set(delivered()) >= want_delivered, 60)
        except TimeoutError as e:
            check(False, str(e))
        time.sleep(1)  # a late inhibited delivery would land now
        got = delivered()
        for k in sorted(want_delivered):
            want_path = "/pager" if severity[k] == "critical" else "/ticket"
            check(got.get(k) == want_path, f"{k} delivered to {want_path} (got {got.get(k)})")
        for k in sorted(want_inhibited):
            check(k not in got, f"inhibited {k} was never delivered")
        first_pager = min((t for t, p, _, _ in hook.alerts() if p == "/pager"), default=None)
        if first_pager is not None:
            print(f"pager delivery {first_pager - t_posted:.1f}s after posting (group_wait 2s)")
        check(am.alive(), "alertmanager still running")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["routes", "inhibitions"])
    ap.add_argument("--amtool", default="amtool")
    ap.add_argument("--alertmanager", default="")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--config", default=os.path.join(here, "..", "..", "alerts", "alertmanager.example.yml"))
    ap.add_argument("--rules", default=os.path.join(here, "..", "..", "alerts", "nf_conntrack.rules.yml"))
    args = ap.parse_args()
    if args.mode == "routes":
        routes(args)
    else:
        inhibitions(args)
    print(f"{'FAILED' if FAILURES else 'PASSED'}: {len(FAILURES)} failed checks")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
