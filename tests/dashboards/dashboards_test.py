#!/usr/bin/env python3
"""Checks every dashboards/*.json against the project's Grafana conventions, and every
query in it for PromQL validity with promtool:

- (the JSON is what mixin/ renders: the mixin_drift test checks that);
- stable uid, id null, schemaVersion, tags; panel ids unique, grid inside 24 columns,
  no overlapping panels;
- a `datasource` variable used by every panel and target; `job`, `instance` (node) and a
  hidden `cluster` variable; every selector filters on them;
- a unit and a description on every panel; rate()/irate() over $__rate_interval,
  increase() over $__rate_interval or $__range;
- thresholds at the alert levels read from alerts/nf_conntrack.rules.yml;
- every runbook link resolves to a file (and anchor) in docs/runbooks, every alert's
  runbook is linked from a panel;
- every panel, annotation and variable query parses (promtool check rules).

Exit 0 pass, 1 fail, 77 skip (no promtool).
"""

import argparse
import glob
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "pylib"))
import nfct_dashboards as D  # noqa: E402
import nfct_servers as S  # noqa: E402
import nfct_promql  # noqa: E402

RUNBOOK_BASE = "https://github.com/nf-conntrack-exporter/nf_conntrack_exporter/blob/main/docs/runbooks/"
EXPECTED = {
    "nf_conntrack-node.json": {"uid": "nf-conntrack-node", "vars": ["datasource", "cluster", "job", "instance"]},
    "nf_conntrack-fleet.json": {"uid": "nf-conntrack-fleet", "vars": ["datasource", "cluster", "job"]},
}
OFFLINE_VALUES = {"cluster": ".*", "job": "nf_conntrack", "instance": "node-a:9725",
                  "__rate_interval": "1m", "__range": "6h", "__interval": "15s", "datasource": "x"}
METRIC = re.compile(r"\b((?:instance|netns):nf_conntrack\w*:\w+|nf_conntrack_\w+|up)\b(\s*\{[^}]*\})?")

FAILURES = []


def check(cond, msg):
    if not cond:
        print("FAIL " + msg)
        FAILURES.append(msg)
    return cond


def alert_levels(rules_path):
    exprs = {r["alert"]: r["expr"] for r in S.alert_rules(rules_path) if "alert" in r}

    def num(alert, pattern):
        m = re.fullmatch(pattern, exprs.get(alert, "").strip())
        if not m:
            raise SystemExit(f"cannot find {pattern!r} in the expression of {alert}")
        return float(m.group(1))
    return {
        "nearly_full": num("NfConntrackTableNearlyFull", r"instance:nf_conntrack_entries_usage:ratio > ([\d.]+)"),
        "full": num("NfConntrackTableFull", r"instance:nf_conntrack_entries_usage:ratio >= ([\d.]+)"),
        "per_bucket": num("NfConntrackBucketsUndersized", r"instance:nf_conntrack_entries_per_bucket:ratio > ([\d.]+)"),
        "netns_nearly_full": num("NfConntrackNetnsTableNearlyFull", r"netns:nf_conntrack_netns_entries_usage:ratio > ([\d.]+)"),
    }


def github_slug(heading):
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def step_values(thresholds):
    return [s["value"] for s in (thresholds or {}).get("steps", []) if s.get("value") is not None]


def check_grid(name, panels):
    cells = {}
    for p in panels:
        g = p.get("gridPos", {})
        if not check(all(k in g for k in "hwxy"), f"{name}: panel {p.get('title')!r} has gridPos h,w,x,y"):
            continue
        check(g["x"] >= 0 and g["x"] + g["w"] <= 24, f"{name}: panel {p.get('title')!r} fits 24 columns")
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                other = cells.get((x, y))
                if other is not None:
                    check(False, f"{name}: panels {other!r} and {p.get('title')!r} overlap at {x},{y}")
                    return
                cells[(x, y)] = p.get("title")


def check_expr(name, where, expr, required_vars):
    for m in METRIC.finditer(expr):
        metric, selector = m.group(1), m.group(2) or ""
        check(selector != "", f"{name}: {where}: {metric} has a label selector")
        for var in required_vars:
            check(f'{var}=~"${var}"' in selector,
                  f"{name}: {where}: {metric} filters on {var}=~\"${var}\"")
    for fn, ranges in (("rate", {"$__rate_interval"}), ("irate", {"$__rate_interval"}),
                       ("increase", {"$__rate_interval", "$__range"})):
        for m in re.finditer(rf"\b{fn}\((.*?)\[([^\]]+)\]\)", expr):
            check(m.group(2) in ranges, f"{name}: {where}: {fn}() over {m.group(2)}, want one of {sorted(ranges)}")


def check_dashboard(path, levels, runbook_dir, linked_runbooks, promql):
    name = os.path.basename(path)
    dash = D.load(path)
    exp = EXPECTED.get(name)
    if not check(exp is not None, f"{name}: a known dashboard ({sorted(EXPECTED)})"):
        return
    check(dash.get("uid") == exp["uid"], f"{name}: uid is {exp['uid']}")
    check("id" in dash and dash["id"] is None, f"{name}: id is null")
    check(isinstance(dash.get("schemaVersion"), int) and dash["schemaVersion"] >= 36, f"{name}: schemaVersion >= 36")
    check("nf_conntrack" in dash.get("tags", []), f"{name}: tagged nf_conntrack")
    check(bool(dash.get("title")) and bool(dash.get("description")), f"{name}: title and description")

    variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
    check(list(variables) == exp["vars"], f"{name}: variables {exp['vars']} (got {list(variables)})")
    ds = variables.get("datasource", {})
    check(ds.get("type") == "datasource" and ds.get("query") == "prometheus",
          f"{name}: datasource variable of type datasource, query prometheus")
    check(variables.get("cluster", {}).get("hide") == 2, f"{name}: cluster variable is hidden")
    for vname, v in variables.items():
        if v.get("type") == "query":
            check(v.get("datasource") == {"type": "prometheus", "uid": D.DS_UID},
                  f"{name}: variable {vname} uses ${{datasource}}")
    required_vars = [v for v in ("cluster", "job", "instance") if v in variables]

    all_panels = D.panels(dash)
    ids = [p.get("id") for p in all_panels]
    check(len(ids) == len(set(ids)) and all(isinstance(i, int) for i in ids), f"{name}: panel ids unique integers")
    check_grid(name, all_panels)

    for p in all_panels:
        title = p.get("title")
        if p.get("type") == "row":
            continue
        check(bool(title), f"{name}: panel {p.get('id')} has a title")
        check(p.get("datasource") == {"type": "prometheus", "uid": D.DS_UID}, f"{name}: {title!r} uses ${{datasource}}")
        check(len(p.get("description", "")) >= 20, f"{name}: {title!r} has a description")
        defaults = p.get("fieldConfig", {}).get("defaults", {})
        check(bool(defaults.get("unit")), f"{name}: {title!r} has a unit")
        targets = p.get("targets", [])
        check(len(targets) > 0, f"{name}: {title!r} has queries")
        exprs = []
        for t in targets:
            check(t.get("datasource") == {"type": "prometheus", "uid": D.DS_UID},
                  f"{name}: {title!r} {t.get('refId')} uses ${{datasource}}")
            exprs.append(t.get("expr", ""))
            check_expr(name, f"{title!r} {t.get('refId')}", t.get("expr", ""), required_vars)
        joined = " ".join(exprs)

        # thresholds at the alert levels
        overrides = {o["matcher"]["options"]: {pr["id"]: pr["value"] for pr in o["properties"]}
                     for o in p.get("fieldConfig", {}).get("overrides", [])}
        usage_thresholds = None
        if "netns:nf_conntrack_netns_entries_usage:ratio" in joined:
            vals = step_values(overrides.get("usage", {}).get("thresholds"))
            check(levels["netns_nearly_full"] in vals,
                  f"{name}: {title!r} usage thresholds at {levels['netns_nearly_full']} (got {vals})")
        if "instance:nf_conntrack_entries_usage:ratio" in joined:
            if defaults.get("unit") == "percentunit":
                usage_thresholds = defaults.get("thresholds")
            elif "usage" in overrides:
                usage_thresholds = overrides["usage"].get("thresholds")
            if usage_thresholds is not None or defaults.get("unit") == "percentunit":
                vals = step_values(usage_thresholds)
                check(levels["nearly_full"] in vals and levels["full"] in vals,
                      f"{name}: {title!r} thresholds at {levels['nearly_full']} and {levels['full']} (got {vals})")
        if "instance:nf_conntrack_entries_per_bucket:ratio" in joined or "(nf_conntrack_buckets{" in joined:
            th = overrides.get("entries per bucket", {}).get("thresholds") or defaults.get("thresholds")
            check(levels["per_bucket"] in step_values(th),
                  f"{name}: {title!r} threshold at {levels['per_bucket']} entries per bucket (got {step_values(th)})")
        if re.search(r"nf_conntrack_stat_drop_total", joined) and "count(" not in joined:
            th = overrides.get("dropped /s", {}).get("thresholds") or defaults.get("thresholds")
            steps = (th or {}).get("steps", [])
            check(any(s.get("color") == "red" and s.get("value") is not None and 0 < s["value"] <= 1 for s in steps),
                  f"{name}: {title!r} turns red at the first dropped packet")

        # links
        for link in p.get("links", []):
            url = link.get("url", "")
            if url.startswith(RUNBOOK_BASE):
                rel = url[len(RUNBOOK_BASE):]
                file, _, anchor = rel.partition("#")
                fpath = os.path.join(runbook_dir, file)
                if check(os.path.exists(fpath), f"{name}: {title!r} links to an existing runbook {file}"):
                    linked_runbooks.add(file[:-3])
                    if anchor:
                        heads = [github_slug(h) for h in re.findall(r"^#+ (.*)$", open(fpath).read(), re.M)]
                        check(anchor in heads, f"{name}: {title!r} anchor #{anchor} exists in {file}")

    for where, expr, _ in D.queries(dash):
        try:
            promql.append((f"{name}: {where}", D.substitute(expr, OFFLINE_VALUES)))
        except KeyError as e:
            check(False, f"{name}: {where}: {e}")
    for where, selector in D.variable_selectors(dash):
        if check(selector is not None, f"{name}: {where} is label_values(selector, label)"):
            promql.append((f"{name}: {where}", f"count({D.substitute(selector, OFFLINE_VALUES)})"))
    for a in dash.get("annotations", {}).get("list", []):
        if a.get("expr"):
            check(a.get("datasource") == {"type": "prometheus", "uid": D.DS_UID},
                  f"{name}: annotation {a.get('name')!r} uses ${{datasource}}")
            check_expr(name, f"annotation {a.get('name')!r}", a["expr"], required_vars)


def validate_promql(promtool, promql):
    """Every expression parsed by promtool; the bad ones named."""
    bad = nfct_promql.invalid(promtool, promql)
    if not bad:
        print(f"ok   {len(promql)} dashboard queries parse as PromQL")
    for where, expr, error in bad:
        check(False, f"{where}: invalid PromQL {expr!r}: {error}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--promtool", default=shutil.which("promtool") or "")
    args = ap.parse_args()
    if not args.promtool:
        print("SKIP: promtool not found (Debian package prometheus)")
        return 77

    rules_path = os.path.join(ROOT, "alerts", "nf_conntrack.rules.yml")
    levels = alert_levels(rules_path)
    runbook_dir = os.path.join(ROOT, "docs", "runbooks")
    files = sorted(glob.glob(os.path.join(ROOT, "dashboards", "*.json")))
    check(sorted(os.path.basename(f) for f in files) == sorted(EXPECTED), f"dashboards present: {sorted(EXPECTED)}")
    linked, promql = set(), []
    for path in files:
        check_dashboard(path, levels, runbook_dir, linked, promql)
    alerts = sorted(S.alert_names_and_severities(rules_path))
    for a in alerts:
        check(a in linked, f"runbook of {a} is linked from a dashboard panel")
    validate_promql(args.promtool, promql)
    print(f"checked {len(files)} dashboards, {len(promql)} queries, {len(alerts)} alert runbooks")
    print(f"{'FAILED' if FAILURES else 'PASSED'}: {len(FAILURES)} failed checks")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
