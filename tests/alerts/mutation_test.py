#!/usr/bin/env python3
"""Proves the promtool unit tests can fail: each mutation below weakens one threshold,
duration or guard of alerts/nf_conntrack.rules.yml in a temporary copy, and
`promtool test rules` over tests/alerts/*.test.yml must then FAIL. A mutation that
survives is a rule property no test looks at.

Exit 0 pass, 1 fail, 77 skip (no promtool).
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

# (what is weakened, regex, replacement). Each regex must match exactly once.
MUTATIONS = [
    ("usage ratio loses its limit > 0 guard",
     r"nf_conntrack_entries / \(nf_conntrack_entries_limit > 0\)", "nf_conntrack_entries / nf_conntrack_entries_limit"),
    ("per-bucket ratio loses its buckets > 0 guard",
     r"nf_conntrack_entries / \(nf_conntrack_buckets > 0\)", "nf_conntrack_entries / nf_conntrack_buckets"),
    ("dropping: reset guard removed",
     r"increase\(nf_conntrack_stat_drop_total\[2m\]\) > 0\n\s*unless\n\s*resets\(nf_conntrack_stat_drop_total\[2m\]\) > 0",
     "increase(nf_conntrack_stat_drop_total[2m]) > 0"),
    ("dropping: waits 1m before paging",
     r"(alert: NfConntrackDroppingPackets\n(?:.*\n){4})", r"\1        for: 1m\n"),
    ("kernel log: fires even when the drop counter already pages",
     r"\n\s*unless ignoring \(message, netns\)\n\s*increase\(nf_conntrack_stat_drop_total\[5m\]\) > 0", ""),
    ("kernel log: any message, not only table_full",
     r'nf_conntrack_kernel_log_messages_total\{message="table_full"\}', "nf_conntrack_kernel_log_messages_total"),
    ("full: 95 % no longer included",
     r"ratio >= 0\.95", "ratio > 0.95"),
    ("full: for 2m shortened to 1m",
     r"(ratio >= 0\.95\n\s*for: )2m", r"\g<1>1m"),
    ("nearly full: threshold 80 % raised to 85 %",
     r"ratio > 0\.80", "ratio > 0.85"),
    ("nearly full: threshold 80 % made inclusive",
     r"ratio > 0\.80", "ratio >= 0.80"),
    ("nearly full: for 5m shortened to 4m",
     r"(ratio > 0\.80\n\s*for: )5m", r"\g<1>4m"),
    ("filling up: no 50 % floor",
     r"(4 \* 3600\) / \(nf_conntrack_entries_limit > 0\) >= 1)\n\s*and\n\s*instance:nf_conntrack_entries_usage:ratio > 0\.5\n",
     r"\1\n"),
    ("filling up: forecast horizon 4h stretched to 12h",
     r"4 \* 3600", "12 * 3600"),
    ("filling up: for 15m shortened to 5m",
     r"(> 0\.5\n\s*for: )15m(\n\s*labels:\n\s*severity: warning\n\s*annotations:\n\s*summary: \"conntrack table on \{\{ \$labels.instance \}\} is forecast)",
     r"\g<1>5m\2"),
    ("evicting: reset guard removed",
     r"\n\s*unless\n\s*resets\(nf_conntrack_stat_early_drop_total\[5m\]\) > 0", ""),
    ("insert failures: reset guard removed",
     r"\n\s*unless\n\s*resets\(nf_conntrack_stat_insert_failed_total\[5m\]\) > 0", ""),
    ("insert failures: for 15m shortened to 5m",
     r"(resets\(nf_conntrack_stat_insert_failed_total\[5m\]\) > 0\n\s*for: )15m", r"\g<1>5m"),
    ("chain too long: reset guard removed",
     r"\n\s*unless\n\s*resets\(nf_conntrack_stat_chaintoolong_total\[5m\]\) > 0", ""),
    ("buckets undersized: threshold 4 lowered to 3",
     r"per_bucket:ratio > 4", "per_bucket:ratio > 3"),
    ("buckets undersized: for 30m shortened to 20m",
     r"(per_bucket:ratio > 4\n\s*for: )30m", r"\g<1>20m"),
    ("time wait: share 50 % lowered to 10 %",
     r"\(nf_conntrack_table_entries\)\n(\s*)> 0\.5", r"(nf_conntrack_table_entries)\n\1> 0.1"),
    ("time wait: timeout floor 60 s lowered to 20 s",
     r'state="time_wait"\} > 60', 'state="time_wait"} > 20'),
    ("time wait: no usage floor",
     r"\n\s*and\n\s*instance:nf_conntrack_entries_usage:ratio > 0\.5\n(\s*for: 15m\n\s*labels:\n\s*severity: warning\n\s*annotations:\n\s*summary: \"TIME_WAIT)",
     r"\n\1"),
    ("exporter down: for 5m shortened to 1m",
     r'(up\{job="nf_conntrack"\} == 0\n\s*for: )5m', r"\g<1>1m"),
    ("collector failing: for 15m shortened to 5m",
     r"(collector_success == 0\n\s*for: )15m", r"\g<1>5m"),
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.normpath(os.path.join(here, "..", ".."))
    ap = argparse.ArgumentParser()
    ap.add_argument("--promtool", default=shutil.which("promtool") or "")
    args = ap.parse_args()
    if not args.promtool:
        print("SKIP: promtool not found (Debian package prometheus)")
        return 77
    rules = open(os.path.join(root, "alerts", "nf_conntrack.rules.yml")).read()
    tests = sorted(glob.glob(os.path.join(here, "*.test.yml")))
    failures = 0
    with tempfile.TemporaryDirectory(prefix="nfct-mut-") as tmp:
        os.makedirs(os.path.join(tmp, "alerts"))
        os.makedirs(os.path.join(tmp, "tests", "alerts"))
        for t in tests:
            shutil.copy(t, os.path.join(tmp, "tests", "alerts"))
        copies = [os.path.join(tmp, "tests", "alerts", os.path.basename(t)) for t in tests]
        target = os.path.join(tmp, "alerts", "nf_conntrack.rules.yml")

        def run(text):
            with open(target, "w") as f:
                f.write(text)
            return subprocess.run([args.promtool, "test", "rules", *copies],
                                  cwd=os.path.join(tmp, "tests", "alerts"), capture_output=True, text=True)

        baseline = run(rules)
        if baseline.returncode != 0:
            print("FAIL the unmutated rules do not pass their tests:\n" + baseline.stdout[-3000:])
            return 1
        print("ok   unmutated rules pass")
        for what, pattern, repl in MUTATIONS:
            mutated, n = re.subn(pattern, repl, rules)
            if n != 1:
                print(f"FAIL mutation {what!r} matched {n} times (rules changed? update the mutation)")
                failures += 1
                continue
            r = run(mutated)
            if r.returncode == 0:
                print(f"FAIL mutation survived, no test notices: {what}")
                failures += 1
            else:
                names = re.findall(r"^\s*name: (.*),$", r.stdout + r.stderr, re.M)
                print(f"ok   killed: {what}  (by: {names[0] if names else 'a failing test'})")
    print(f"{len(MUTATIONS) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
