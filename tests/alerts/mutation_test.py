#!/usr/bin/env python3
"""Proves the promtool unit tests can fail: each mutation below weakens one threshold,
duration or guard of one rule of alerts/nf_conntrack.rules.yml in a temporary copy, and
`promtool test rules` over tests/alerts/*.test.yml must then FAIL. A mutation that
survives is a rule property no test looks at.

Exit 0 pass, 1 fail, 77 skip (no promtool).
"""

import argparse
import copy
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml  # python3-yaml

# (what is weakened, rule name, field, regex, replacement): the regex must match the rule's
# field exactly once; field "for" with regex "^$" adds a `for` the rule does not have.
MUTATIONS = [
    ("usage ratio loses its limit > 0 guard", "instance:nf_conntrack_entries_usage:ratio", "expr",
     r"\(nf_conntrack_entries_limit > 0\)", "nf_conntrack_entries_limit"),
    ("per-bucket ratio loses its buckets > 0 guard", "instance:nf_conntrack_entries_per_bucket:ratio", "expr",
     r"\(nf_conntrack_buckets > 0\)", "nf_conntrack_buckets"),
    ("netns usage ratio counts the 'other' sum as one table", "netns:nf_conntrack_netns_entries_usage:ratio", "expr",
     r'\{netns!="other"\}', ""),
    ("netns usage ratio loses its limit > 0 guard", "netns:nf_conntrack_netns_entries_usage:ratio", "expr",
     r"\(nf_conntrack_entries_limit > 0\)", "nf_conntrack_entries_limit"),
    ("dropping: reset guard removed", "NfConntrackDroppingPackets", "expr",
     r"\s*unless\s*resets\(nf_conntrack_stat_drop_total\[2m\]\) > 0", ""),
    ("dropping: waits 1m before paging", "NfConntrackDroppingPackets", "for", r"^$", "1m"),
    ("kernel log: fires even when the drop counter already pages", "NfConntrackKernelLogTableFull", "expr",
     r"\s*unless ignoring \(message, netns\)\s*increase\(nf_conntrack_stat_drop_total\[5m\]\) > 0", ""),
    ("kernel log: any message, not only table_full", "NfConntrackKernelLogTableFull", "expr",
     r'\{message="table_full"\}', ""),
    ("full: 95 % no longer included", "NfConntrackTableFull", "expr", r">= 0\.95", "> 0.95"),
    ("full: for 2m shortened to 1m", "NfConntrackTableFull", "for", r"2m", "1m"),
    ("nearly full: threshold 80 % raised to 85 %", "NfConntrackTableNearlyFull", "expr", r"> 0\.80", "> 0.85"),
    ("nearly full: threshold 80 % made inclusive", "NfConntrackTableNearlyFull", "expr", r"> 0\.80", ">= 0.80"),
    ("nearly full: for 5m shortened to 4m", "NfConntrackTableNearlyFull", "for", r"5m", "4m"),
    ("filling up: fast horizon 1 h shortened to 45 m", "NfConntrackTableFillingUp", "expr", r"< 3600\b", "< 2700"),
    ("filling up: fast horizon 1 h stretched to 2 h", "NfConntrackTableFillingUp", "expr", r"< 3600\b", "< 7200"),
    ("filling up: fast forecast over 30m instead of 10m", "instance:nf_conntrack_entries:deriv10m", "expr",
     r"\[10m\]", "[30m]"),
    ("filling up: slow horizon 4 h shortened to 2 h", "NfConntrackTableFillingUp", "expr", r"< 14400", "< 7200"),
    ("filling up: no floor under the slow forecast", "NfConntrackTableFillingUp", "expr",
     r"\s*and\s*instance:nf_conntrack_entries_usage:ratio > 0\.75", ""),
    ("filling up: slow floor lowered to 60 %", "NfConntrackTableFillingUp", "expr", r"ratio > 0\.75", "ratio > 0.6"),
    # (deriv >= 0 would be the same rule: a flat table divides by 0, giving +Inf or NaN.)
    ("filling up: a shrinking table is forecast full (fast, no growth guard)", "NfConntrackTableFillingUp", "expr",
     r"\(instance:nf_conntrack_entries:deriv10m > 0\)", "instance:nf_conntrack_entries:deriv10m"),
    ("filling up: a shrinking table is forecast full (slow, no growth guard)", "NfConntrackTableFillingUp", "expr",
     r"\(instance:nf_conntrack_entries:deriv1h > 0\)", "instance:nf_conntrack_entries:deriv1h"),
    ("filling up: for 2m stretched to 10m", "NfConntrackTableFillingUp", "for", r"2m", "10m"),
    ("evicting: reset guard removed", "NfConntrackEvictingEntries", "expr",
     r"\s*unless\s*resets\(nf_conntrack_stat_early_drop_total\[5m\]\) > 0", ""),
    ("insert failures: reset guard removed", "NfConntrackInsertFailures", "expr",
     r"\s*unless\s*resets\(nf_conntrack_stat_insert_failed_total\[5m\]\) > 0", ""),
    ("insert failures: for 15m shortened to 5m", "NfConntrackInsertFailures", "for", r"15m", "5m"),
    ("chain too long: reset guard removed", "NfConntrackHashChainTooLong", "expr",
     r"\s*unless\s*resets\(nf_conntrack_stat_chaintoolong_total\[5m\]\) > 0", ""),
    ("buckets undersized: threshold 4 lowered to 3", "NfConntrackBucketsUndersized", "expr", r"> 4", "> 3"),
    ("buckets undersized: for 30m shortened to 20m", "NfConntrackBucketsUndersized", "for", r"30m", "20m"),
    ("time wait: share 50 % lowered to 10 %", "NfConntrackTimeWaitHigh", "expr",
     r"\(nf_conntrack_table_entries\)\n> 0\.5", "(nf_conntrack_table_entries)\n> 0.1"),
    ("time wait: timeout floor 60 s lowered to 20 s", "NfConntrackTimeWaitHigh", "expr",
     r'state="time_wait"\} > 60', 'state="time_wait"} > 20'),
    ("time wait: no usage floor", "NfConntrackTimeWaitHigh", "expr",
     r"\s*and\s*instance:nf_conntrack_entries_usage:ratio > 0\.5", ""),
    ("netns nearly full: threshold 80 % raised to 85 %", "NfConntrackNetnsTableNearlyFull", "expr",
     r"> 0\.80", "> 0.85"),
    ("netns nearly full: for 5m shortened to 1m", "NfConntrackNetnsTableNearlyFull", "for", r"5m", "1m"),
    ("netns dropping: reset guard removed", "NfConntrackNetnsDroppingPackets", "expr",
     r"\s*unless\s*resets\(nf_conntrack_netns_stat_drop_total\[2m\]\) > 0", ""),
    ("netns dropping: waits 1m before paging", "NfConntrackNetnsDroppingPackets", "for", r"^$", "1m"),
    ("exporter down: for 5m shortened to 1m", "NfConntrackExporterDown", "for", r"5m", "1m"),
    ("exporter down: any target of any job that is down counts", "NfConntrackExporterDown", "expr",
     r"\s*and\s*last_over_time\(instance:nf_conntrack_exporter_target:group\[1d\]\)", ""),
    ("collector failing: for 15m shortened to 5m", "NfConntrackCollectorFailing", "for", r"15m", "5m"),
    ("collector failing: a host without the module warns", "NfConntrackCollectorFailing", "expr",
     r"\s*unless ignoring \(collector\)\s*nf_conntrack_module_loaded == 0", ""),
]


def mutate(rules_doc, name, field, pattern, repl):
    """A deep copy of the rules document with one rule's field rewritten; (doc, matches)."""
    doc = copy.deepcopy(rules_doc)
    hits = 0
    for group in doc["groups"]:
        for rule in group["rules"]:
            if rule.get("alert", rule.get("record")) != name:
                continue
            new, n = re.subn(pattern, repl, rule.get(field, ""), flags=re.M)
            hits += n
            rule[field] = new
    return doc, hits


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.normpath(os.path.join(here, "..", ".."))
    ap = argparse.ArgumentParser()
    ap.add_argument("--promtool", default=shutil.which("promtool") or "")
    args = ap.parse_args()
    if not args.promtool:
        print("SKIP: promtool not found (Debian package prometheus)")
        return 77
    rules_text = open(os.path.join(root, "alerts", "nf_conntrack.rules.yml")).read()
    rules_doc = yaml.safe_load(rules_text)
    tests = sorted(glob.glob(os.path.join(here, "*.test.yml")))
    failures = 0
    with tempfile.TemporaryDirectory(prefix="nfct-mut-") as tmp:
        os.makedirs(os.path.join(tmp, "alerts"))
        os.makedirs(os.path.join(tmp, "tests", "alerts"))
        for t in tests:
            shutil.copy(t, os.path.join(tmp, "tests", "alerts"))
        copies = [os.path.join(tmp, "tests", "alerts", os.path.basename(t)) for t in tests]
        target = os.path.join(tmp, "alerts", "nf_conntrack.rules.yml")

        def run(text, files=copies):
            with open(target, "w") as f:
                f.write(text)
            return subprocess.run([args.promtool, "test", "rules", *files],
                                  cwd=os.path.join(tmp, "tests", "alerts"), capture_output=True, text=True)

        def killed(text, name):
            """The first failing run: the test files that name the rule first, then the rest,
            cheapest first (the day-long forecasts last)."""
            def order(path):
                return (name not in open(path).read(), os.path.getsize(path))
            for one in sorted(copies, key=order):
                r = run(text, [one])
                if r.returncode != 0:
                    return r
            return None

        baseline = run(rules_text)
        if baseline.returncode != 0:
            print("FAIL the unmutated rules do not pass their tests:\n" + baseline.stdout[-3000:])
            return 1
        print("ok   unmutated rules pass")
        for what, name, field, pattern, repl in MUTATIONS:
            doc, n = mutate(rules_doc, name, field, pattern, repl)
            mutated = yaml.safe_dump(doc, sort_keys=False)
            if n != 1:
                print(f"FAIL mutation {what!r} matched {n} times (rules changed? update the mutation)")
                failures += 1
                continue
            r = killed(mutated, name)
            if r is None:
                print(f"FAIL mutation survived, no test notices: {what}")
                failures += 1
            else:
                names = re.findall(r"^\s*name: (.*),$", r.stdout + r.stderr, re.M)
                print(f"ok   killed: {what}  (by: {names[0] if names else 'a failing test'})")
    print(f"{len(MUTATIONS) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
