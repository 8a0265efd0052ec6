#!/usr/bin/env python3
"""Every PromQL expression the documentation shows must parse, and the per-namespace queries
of docs/netns.md must answer what the text says they answer.

1. Each ```promql block of README.md and docs/**/*.md is split into expressions: a line that
   starts in column 0 (not a comment, not a binary operator such as `or`, `/`, `*`) begins a
   new one; indented lines, operator lines and closing brackets continue it; blank and comment
   lines end it. Every expression must parse (promtool check rules); the bad ones are named
   with file and line.
2. The expressions of docs/netns.md, in their order, are recorded as docs_netns:q1, q2, ...
   and evaluated by `promtool test rules` against tests/docs/netns_queries.test.yml (exporter
   series plus kube-state-metrics' kube_pod_info), which states each one's expected result.

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

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "pylib"))
import nfct_promql  # noqa: E402

CONTINUATION = re.compile(r"^(or|and|unless|on|ignoring|group_left|group_right|bool|offset)\b|^[-+*/%^)=!<>]")


def expressions(path):
    """[(where, expr)] for every expression in the ```promql blocks of one Markdown file."""
    out = []
    current, start = [], 0
    in_block = False

    def flush():
        nonlocal current
        if current:
            out.append((f"{os.path.relpath(path, ROOT)}:{start}", "\n".join(current)))
        current = []

    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not in_block:
                in_block = line.strip() == "```promql"
                continue
            if line.strip() == "```":
                flush()
                in_block = False
                continue
            code = line.split("#", 1)[0].rstrip() if not line.lstrip().startswith("#") else ""
            if not code.strip():
                flush()
                continue
            starts_new = not line[0].isspace() and not CONTINUATION.match(line)
            if starts_new:
                flush()
            if not current:
                start = number
            current.append(code)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--promtool", default=shutil.which("promtool") or "")
    args = ap.parse_args()
    if not args.promtool:
        print("SKIP: promtool not found (Debian package prometheus)")
        return 77

    files = [os.path.join(ROOT, "README.md")]
    files += sorted(glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True))
    exprs = [e for path in files for e in expressions(path)]
    failed = 0
    bad = nfct_promql.invalid(args.promtool, exprs)
    for where, expr, error in bad:
        print(f"FAIL {where}: invalid PromQL:\n{expr}\n  {error}")
    failed += len(bad)
    if not bad:
        print(f"ok   {len(exprs)} expressions in {len(files)} Markdown files parse as PromQL")

    netns = expressions(os.path.join(ROOT, "docs", "netns.md"))
    rules = nfct_promql.rule_file(
        [(f"docs_netns:q{i}", expr) for i, (_, expr) in enumerate(netns, 1)], "docs_netns")
    with tempfile.TemporaryDirectory() as tmp:
        test = os.path.join(tmp, "netns_queries.test.yml")
        with open(os.path.join(HERE, "netns_queries.test.yml")) as f:
            text = f.read()
        with open(test, "w") as f:
            f.write(text.replace("RULES_FILE", rules))
        r = subprocess.run([args.promtool, "test", "rules", test], capture_output=True, text=True)
    os.unlink(rules)
    if r.returncode != 0:
        failed += 1
        print("FAIL docs/netns.md queries (docs_netns:qN is the N-th expression):")
        print(r.stdout + r.stderr)
    else:
        print(f"ok   the {len(netns)} expressions of docs/netns.md return what the test expects")
    print("PASSED" if not failed else f"FAILED: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
