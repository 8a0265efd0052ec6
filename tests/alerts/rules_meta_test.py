#!/usr/bin/env python3
"""Checks what promtool does not: every alert carries the labels and annotations an
operator needs, has a runbook with the expected sections, has a unit test in which it
fires, and every division by the limit or the bucket count is guarded against 0.

The rules file is the mixin's rendered YAML (python3-yaml reads it); the number of rules
found must equal the number promtool reports.

Exit 0 pass, 1 fail, 77 skip (no promtool).
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import nfct_servers as S  # noqa: E402

FAILURES = []
RUNBOOK_BASE = "https://github.com/nf-conntrack-exporter/nf_conntrack_exporter/blob/main/docs/runbooks/"
# Every runbook answers these, in this order.
RUNBOOK_SECTIONS = ["## Meaning", "## Impact", "## Confirm", "## Fix"]


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        FAILURES.append(msg)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.normpath(os.path.join(here, "..", ".."))
    ap = argparse.ArgumentParser()
    ap.add_argument("--promtool", default=shutil.which("promtool") or "")
    ap.add_argument("--rules", default=os.path.join(root, "alerts", "nf_conntrack.rules.yml"))
    ap.add_argument("--runbooks", default=os.path.join(root, "docs", "runbooks"))
    ap.add_argument("--tests", default=here)
    args = ap.parse_args()
    if not args.promtool:
        print("SKIP: promtool not found (Debian package prometheus)")
        return 77

    rules = S.alert_rules(args.rules)
    out = subprocess.run([args.promtool, "check", "rules", args.rules], capture_output=True, text=True)
    m = re.search(r"SUCCESS: (\d+) rules found", out.stdout)
    check(m is not None, f"promtool check rules succeeds ({out.stdout.strip()} {out.stderr.strip()})")
    if m:
        check(int(m.group(1)) == len(rules), f"YAML holds {len(rules)} rules, promtool found {m.group(1)}")

    alerts = [(r["alert"], r) for r in rules if "alert" in r]
    records = [(r["record"], r) for r in rules if "record" in r]
    check(len(alerts) >= 12, f"{len(alerts)} alerts")

    test_text = "\n".join(open(p).read() for p in sorted(glob.glob(os.path.join(args.tests, "*.test.yml"))))

    for name, rule in alerts:
        annotations = rule.get("annotations", {})
        check(rule.get("labels", {}).get("severity") in ("critical", "warning"), f"{name}: severity critical|warning")
        for ann in ("summary", "description", "runbook_url"):
            check(bool(annotations.get(ann)), f"{name}: has {ann}")
        check("{{" in annotations.get("description", ""), f"{name}: description shows live values through a template")
        url = annotations.get("runbook_url")
        if url:
            check(url == RUNBOOK_BASE + name + ".md", f"{name}: runbook_url is {RUNBOOK_BASE}{name}.md")
            path = os.path.join(args.runbooks, name + ".md")
            if os.path.exists(path):
                body = open(path).read()
                positions = [body.find(s + "\n") for s in RUNBOOK_SECTIONS]
                check(all(p >= 0 for p in positions) and positions == sorted(positions),
                      f"{name}: runbook has sections {RUNBOOK_SECTIONS} in order")
                check(body.startswith(f"# {name}\n"), f"{name}: runbook title is the alert name")
            else:
                check(False, f"{name}: runbook {path} exists")
        # fires in at least one unit test (a non-empty exp_alerts)
        fires = re.search(rf"alertname:\s*{name}\s*\n\s*eval_time:\s*\S+\s*\n\s*exp_alerts:\s*\n\s*-\s*exp_labels", test_text)
        check(fires is not None, f"{name}: a unit test expects it to fire")

    # Every runbook belongs to an alert (no stale runbooks).
    alert_names = {n for n, _ in alerts}
    for path in sorted(glob.glob(os.path.join(args.runbooks, "*.md"))):
        base = os.path.basename(path)[:-3]
        if base != "README":
            check(base in alert_names, f"runbook {base}.md belongs to an alert")

    # No rule names a job, not even the exporter-down alert: the shipped rules must work
    # under any scrape job name (PodMonitor, annotated Service, static config). A selector is
    # the user's choice in the mixin's _config (tests/mixin/config_test.py renders one).
    for name, rule in alerts + records:
        check("job=" not in rule["expr"].replace(" ", ""), f"{name}: expression names no job")

    # Division guards: the limit and the bucket count appear in expressions only as
    # "(x > 0)", never as a bare divisor or a bare comparison target.
    for kind_items in (alerts, records):
        for name, rule in kind_items:
            expr = rule["expr"]
            for metric in ("nf_conntrack_entries_limit", "nf_conntrack_buckets"):
                for occ in re.finditer(metric + r"\b", expr):
                    guarded = re.match(r"\s*>\s*0\)", expr[occ.end():]) is not None and \
                        expr[:occ.start()].rstrip().endswith("(")
                    check(guarded, f"{name}: {metric} used as ({metric} > 0)")
            check("for" in rule or name in {"NfConntrackDroppingPackets", "NfConntrackEvictingEntries",
                                                "NfConntrackHashChainTooLong", "NfConntrackKernelLogTableFull",
                                                "NfConntrackNetnsDroppingPackets"}
                  or kind_items is records,
                  f"{name}: has a `for`, or is a counter alert that must fire at once")

    print(f"{'FAILED' if FAILURES else 'PASSED'}: {len(FAILURES)} failed checks")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
