#!/usr/bin/env python3
"""The mixin's _config knobs do what docs/alerts-and-dashboards.md says: the rules are rendered
with overrides (as a user's jsonnet would) and run through `promtool test rules`.

- exporterSelector set: up{<selector>} == 0 for any target it matches (even one that never
  served a metric) and absent(up{<selector>}) once every target vanished; the description names
  the selector.
- severity+: one alert's severity changes, no other's.

Exit 0 pass, 1 fail, 77 skip (no jsonnet or promtool).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "mixin"))
import render  # noqa: E402

FAILURES = []


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        FAILURES.append(msg)


def rendered(jsonnet, config):
    """The rule groups with `config` (jsonnet object body) merged into _config."""
    m = render.evaluate(jsonnet, 'local m = (import "mixin.libsonnet") + { _config+:: { %s } }; '
                                 '{ groups: m.prometheusRules.groups + m.prometheusAlerts.groups }' % config)
    return m["groups"]


def alerts_of(groups):
    return {r["alert"]: r for g in groups for r in g["rules"] if "alert" in r}


SELECTOR_TESTS = """
rule_files: [rules.yml]
evaluation_interval: 1m
group_eval_order: [nf_conntrack.rules, nf_conntrack.alerts]
tests:
  - name: a target of the selector that never answered is down
    interval: 1m
    input_series:
      - series: 'up{job="nf_conntrack",instance="new-node:9725"}'
        values: '0x10'
      - series: 'up{job="node",instance="new-node:9100"}'
        values: '0x10'
    alert_rule_test:
      - alertname: NfConntrackExporterDown
        eval_time: 4m
        exp_alerts: []
      - alertname: NfConntrackExporterDown
        eval_time: 5m
        exp_alerts:
          - exp_labels: {severity: warning, job: nf_conntrack, instance: new-node:9725}
            exp_annotations:
              summary: "nf_conntrack_exporter on new-node:9725 is down."
              description: "Prometheus could not scrape new-node:9725 (job nf_conntrack) for 5 minutes. Conntrack alerts for this host, including the dropped-packets page, cannot fire."
              runbook_url: https://github.com/nf-conntrack-exporter/nf_conntrack_exporter/blob/main/docs/runbooks/NfConntrackExporterDown.md

  - name: every target of the selector vanished from service discovery
    interval: 1m
    input_series:
      - series: 'up{job="nf_conntrack",instance="node-a:9725"}'
        values: '1x5'
      - series: 'up{job="node",instance="node-a:9100"}'
        values: '1x20'
    alert_rule_test:
      # up ends at 5m and goes stale 5 minutes later; absent() then waits its own 5 minutes
      - alertname: NfConntrackExporterDown
        eval_time: 14m
        exp_alerts: []
      - alertname: NfConntrackExporterDown
        eval_time: 16m
        exp_alerts:
          - exp_labels: {severity: warning, job: nf_conntrack}
            exp_annotations:
              summary: "No nf_conntrack_exporter target is being scraped."
              description: "Prometheus has had no target matching {job=\\"nf_conntrack\\"} for 5 minutes: service discovery lost them, or the scrape configuration changed. Conntrack alerts for this host, including the dropped-packets page, cannot fire."
              runbook_url: https://github.com/nf-conntrack-exporter/nf_conntrack_exporter/blob/main/docs/runbooks/NfConntrackExporterDown.md
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jsonnet", default=os.environ.get("JSONNET") or shutil.which("jsonnet"))
    ap.add_argument("--promtool", default=shutil.which("promtool"))
    args = ap.parse_args()
    if not args.jsonnet or not args.promtool:
        print("SKIP: needs jsonnet and promtool (Debian packages jsonnet, prometheus)")
        return 77

    default = alerts_of(rendered(args.jsonnet, ""))
    check("absent(" not in default["NfConntrackExporterDown"]["expr"],
          "no selector (default): no absent() form, which would fire under another job name")

    groups = rendered(args.jsonnet, "exporterSelector: 'job=\"nf_conntrack\"'")
    expr = alerts_of(groups)["NfConntrackExporterDown"]["expr"]
    check('up{job="nf_conntrack"} == 0' in expr and 'absent(up{job="nf_conntrack"})' in expr,
          f"a selector gives up{{sel}} == 0 and absent(up{{sel}}): {expr!r}")
    with tempfile.TemporaryDirectory(prefix="nfct-mixin-") as tmp:
        with open(os.path.join(tmp, "rules.yml"), "w") as f:
            yaml.dump({"groups": groups}, f, Dumper=render._Dumper, sort_keys=False, width=1000)
        with open(os.path.join(tmp, "selector.test.yml"), "w") as f:
            f.write(SELECTOR_TESTS)
        out = subprocess.run([args.promtool, "test", "rules", "selector.test.yml"], cwd=tmp,
                             capture_output=True, text=True)
        check(out.returncode == 0, "promtool test rules with exporterSelector set\n" + out.stdout + out.stderr)

    changed = alerts_of(rendered(args.jsonnet, "severity+: { NfConntrackNetnsDroppingPackets: 'warning' }"))
    check(default["NfConntrackNetnsDroppingPackets"]["labels"]["severity"] == "critical"
          and changed["NfConntrackNetnsDroppingPackets"]["labels"]["severity"] == "warning",
          "severity+: makes the per-netns drop page a ticket")
    others = [n for n in default if n != "NfConntrackNetnsDroppingPackets"
              and default[n]["labels"] != changed[n]["labels"]]
    check(others == [], f"no other alert's severity changed: {others}")

    if FAILURES:
        print(f"{len(FAILURES)} failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
