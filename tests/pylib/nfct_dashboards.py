"""Reads the queries out of our Grafana dashboards and turns them into plain PromQL.

Used by tests/dashboards/dashboards_test.py (validity, conventions) and by
tests/live_chain/live_chain_test.py and tests/fleet/fleet_test.py (every query returns data from
a live Prometheus, live_check).
Standard library only.
"""

import json
import re

DS_UID = "${datasource}"
_VAR = re.compile(r"\$\{(\w+)(?::[\w]+)?\}|\$(\w+)")


def load(path):
    with open(path) as f:
        return json.load(f)


def panels(dash):
    """Every panel, rows' nested panels included, in order."""
    out = []
    for p in dash.get("panels", []):
        out.append(p)
        out.extend(p.get("panels", []))
    return out


def queries(dash):
    """[(where, expr, instant)] for every panel target and every Prometheus annotation."""
    out = []
    for p in panels(dash):
        for t in p.get("targets", []):
            if "expr" in t:
                out.append((f"panel {p.get('title')!r} {t.get('refId')}", t["expr"], bool(t.get("instant"))))
    for a in dash.get("annotations", {}).get("list", []):
        if a.get("expr"):
            out.append((f"annotation {a.get('name')!r}", a["expr"], False))
    return out


def variable_selectors(dash):
    """[(where, selector)] for each label_values(selector, label) variable query."""
    out = []
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", q or "")
        out.append((f"variable {v.get('name')!r}", m.group(1) if m else None))
    return out


def substitute(expr, values):
    """Replaces Grafana variables ($x, ${x}, ${x:fmt}) with values[x]; raises on unknown."""
    def repl(m):
        name = m.group(1) or m.group(2)
        if name not in values:
            raise KeyError(f"unknown dashboard variable ${name} in {expr!r}")
        return values[name]
    return _VAR.sub(repl, expr)


# Metric name prefix -> the collector that serves it (for "collector not running here").
COLLECTOR_OF_PREFIX = [("nf_conntrack_kernel_log_", "kmsg"), ("nf_conntrack_table_", "table"),
                       ("nf_conntrack_netns_", "netns"), ("nf_conntrack_refused_", "refused")]


def live_check(prom, dash, values, start, end, step, have, check, label=""):
    """Runs every panel, annotation and variable query of `dash` against `prom` (an
    nfct_servers.Prom) with `values` substituted, reporting each through check(ok, message).
    Queries of a collector not in `have` (collector names with a success series) are returned
    as skipped, never silently passed; the `cluster` variable is not checked (the "All" value
    .* covers series without that label). Returns (checked, skipped)."""
    checked, skipped = 0, []
    for where, expr, instant in queries(dash):
        missing = [c for prefix, c in COLLECTOR_OF_PREFIX if prefix in expr and c not in have]
        if missing:
            skipped.append(f"{label}{where} (collector {missing[0]} not running)")
            continue
        q = substitute(expr, values)
        res = prom.query(q) if instant else prom.query_range(q, start, end, step)
        checked += 1
        check(bool(res), f"{label}{where} returns data: {q}")
    for where, selector in variable_selectors(dash):
        if where == "variable 'cluster'":
            continue
        name = where.split("'")[1]
        vals = prom.label_values(name, substitute(selector, values))
        checked += 1
        check(bool(vals), f"{label}{where} lists values {vals}")
    return checked, skipped
