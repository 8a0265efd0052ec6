"""PromQL checks shared by the tests that read queries out of files (dashboards, docs).

Used by tests/dashboards/dashboards_test.py and tests/docs/docs_promql_test.py. Standard
library only; promtool (Debian package prometheus) does the parsing.
"""

import json
import os
import subprocess
import tempfile


def rule_file(named_exprs, group="queries"):
    """A rules file (JSON is YAML) recording each (name, expr); returns its path. Delete it."""
    rules = {"groups": [{"name": group,
                         "rules": [{"record": name, "expr": expr} for name, expr in named_exprs]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        json.dump(rules, f)
        return f.name


def _check(promtool, named_exprs):
    path = rule_file(named_exprs)
    try:
        r = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True)
    finally:
        os.unlink(path)
    return r.returncode == 0, (r.stderr.strip() or r.stdout.strip())


def invalid(promtool, exprs):
    """[(where, expr, error)] for every (where, expr) promtool does not parse; [] when all do.

    One promtool run for all of them; only on a failure one run each, to name the offenders.
    """
    ok, _ = _check(promtool, [(f"q{i}", e) for i, (_, e) in enumerate(exprs)])
    if ok:
        return []
    bad = []
    for where, expr in exprs:
        ok, error = _check(promtool, [("q", expr)])
        if not ok:
            bad.append((where, expr, error))
    return bad
