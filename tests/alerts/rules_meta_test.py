#!/usr/bin/env python3
"""Checks what promtool does not: every alert carries the labels and annotations an
operator needs, has a runbook with the expected sections, has a unit test in which it
fires, and every division by the limit or the bucket count is guarded against 0.

The rules file is read as text (no YAML library in the standard library); the number of
rules found this way must equal the number promtool reports, so a layout this parser
misreads fails the test instead of passing it silently.

Exit 0 pass, 1 fail, 77 skip (no promtool).
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

FAILURES = []
RUNBOOK_BASE = "https://github.com/nf-conntrack-exporter/nf_conntrack_exporter/blob/main/docs/runbooks/"
# Every runbook answers these, in this order.
RUNBOOK_SECTIONS = ["## Meaning", "## Impact", "## Confirm", "## Fix"]


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        FAILURES.append(msg)


def split_rules(text):
    """[(kind, name, block_text)] for every `- record:` / `- alert:` item."""
    items = []
    starts = [(m.start(), m.group(1), m.group(2))
              for m in re.finditer(r"^\s*-\s*(record|alert):\s*(\S+)\s*$", text, re.M)]
    for i, (pos, kind, name) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        block = text[pos:end]
        # cut the comment block that introduces the next rule
        items.append((kind, name, block))
    return items


def expr_of(block):
    m = re.search(r"^\s*expr:\s*\|\s*\n((?:\s{10,}.*\n?)+)", block, re.M)
    if m:
        return m.group(1)
    m = re.search(r"^\s*expr:\s*(.+)$", block, re.M)
    return m.group(1) if m else ""


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

    text = open(args.rules).read()
    items = split_rules(text)
    out = subprocess.run([args.promtool, "check", "rules", args.rules], capture_output=True, text=True)
    m = re.search(r"SUCCESS: (\d+) rules found", out.stdout)
    check(m is not None, f"promtool check rules succeeds ({out.stdout.strip()} {out.stderr.strip()})")
    if m:
        check(int(m.group(1)) == len(items),
              f"text parser found {len(items)} rules, promtool {m.group(1)}")

    alerts = [(n, b) for k, n, b in items if k == "alert"]
    records = [(n, b) for k, n, b in items if k == "record"]
    check(len(alerts) >= 12, f"{len(alerts)} alerts")

    test_text = "\n".join(open(p).read() for p in sorted(glob.glob(os.path.join(args.tests, "*.test.yml"))))

    for name, block in alerts:
        severity = re.search(r"^\s*severity:\s*(\w+)\s*$", block, re.M)
        check(severity is not None and severity.group(1) in ("critical", "warning"),
              f"{name}: severity critical|warning")
        for ann in ("summary", "description", "runbook_url"):
            check(re.search(rf"^\s*{ann}:\s*\S", block, re.M) is not None, f"{name}: has {ann}")
        desc = re.search(r"description:\s*>-\s*\n((?:\s{12,}.*\n?)+)", block)
        check(desc is not None and "{{" in desc.group(1),
              f"{name}: description shows live values through a template")
        rb = re.search(r"runbook_url:\s*(\S+)", block)
        if rb:
            url = rb.group(1)
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

    # Division guards: the limit and the bucket count appear in expressions only as
    # "(x > 0)", never as a bare divisor or a bare comparison target.
    for kind_items in (alerts, records):
        for name, block in kind_items:
            expr = expr_of(block)
            for metric in ("nf_conntrack_entries_limit", "nf_conntrack_buckets"):
                for occ in re.finditer(metric + r"\b", expr):
                    guarded = re.match(r"\s*>\s*0\)", expr[occ.end():]) is not None and \
                        expr[:occ.start()].rstrip().endswith("(")
                    check(guarded, f"{name}: {metric} used as ({metric} > 0)")
            check("for:" in block or name in {"NfConntrackDroppingPackets", "NfConntrackEvictingEntries",
                                                "NfConntrackHashChainTooLong", "NfConntrackKernelLogTableFull"}
                  or kind_items is records,
                  f"{name}: has a `for`, or is a counter alert that must fire at once")

    print(f"{'FAILED' if FAILURES else 'PASSED'}: {len(FAILURES)} failed checks")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
