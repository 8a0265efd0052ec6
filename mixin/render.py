#!/usr/bin/env python3
"""Renders the mixin into the files users load without jsonnet:

  alerts/nf_conntrack.rules.yml   recording rules and alerts (prometheusRules + prometheusAlerts)
  dashboards/*.json               the Grafana dashboards (grafanaDashboards)

`mixin/render.py` rewrites them; `mixin/render.py --check` exits 1 and prints a diff when a
checked-in file differs from what the mixin renders (the mixin_drift test runs this).
jsonnet (Debian package jsonnet; --jsonnet or $JSONNET overrides the path) evaluates the mixin to
JSON; this script only formats: YAML with block strings for multi-line expressions (python3-yaml),
JSON indented by 2. jsonnet's own std.manifestYamlDoc/manifestJsonEx give the same data but are
written in jsonnet and take minutes on these files.
"""
import argparse
import difflib
import json
import os
import pathlib
import shutil
import subprocess
import sys

import yaml

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
HEADER = ("# GENERATED from mixin/ (jsonnet) by mixin/render.py: do not edit. Edit mixin/*.libsonnet,\n"
          "# where every rule and threshold is explained, and rerun mixin/render.py.\n"
          "# Load with `rule_files: [/etc/prometheus/rules/nf_conntrack.rules.yml]`.\n")


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def evaluate(jsonnet, expr):
    out = subprocess.run([jsonnet, "-J", str(HERE), "-e", expr], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"jsonnet failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


def render(jsonnet):
    """{path relative to the repository: text}."""
    m = evaluate(jsonnet, 'local m = import "mixin.libsonnet"; '
                          '{ rules: m.prometheusRules.groups + m.prometheusAlerts.groups, '
                          'dashboards: m.grafanaDashboards }')
    files = {"alerts/nf_conntrack.rules.yml":
             HEADER + yaml.dump({"groups": m["rules"]}, Dumper=_Dumper, sort_keys=False, width=1000)}
    for name, dashboard in m["dashboards"].items():
        files[f"dashboards/{name}"] = json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n"
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--jsonnet", default=os.environ.get("JSONNET") or shutil.which("jsonnet"))
    args = ap.parse_args()
    if not args.jsonnet:
        print("SKIP: jsonnet not found (Debian package jsonnet)")
        return 77
    files = render(args.jsonnet)
    stale = []
    for rel, text in files.items():
        path = ROOT / rel
        if args.check:
            current = path.read_text() if path.exists() else ""
            if current != text:
                stale.append(rel)
                sys.stdout.writelines(difflib.unified_diff(
                    current.splitlines(True), text.splitlines(True), f"{rel} (checked in)", f"{rel} (mixin)"))
        else:
            path.write_text(text)
            print(f"wrote {rel}")
    rendered = {pathlib.PurePath(r).name for r in files if r.startswith("dashboards/")}
    strays = sorted(p.name for p in (ROOT / "dashboards").glob("*.json") if p.name not in rendered)
    if strays:
        print(f"not rendered by mixin/, remove or add to the mixin: {strays}")
    if stale:
        print(f"differ from what mixin/ renders, run mixin/render.py: {stale}")
    return 1 if stale or strays else 0


if __name__ == "__main__":
    sys.exit(main())
