#!/usr/bin/env python3
"""The mixin's monitoring-mixins entry points render what the checked-in files hold.

  jsonnet -S mixin/rules.jsonnet       == the nf_conntrack.rules group of alerts/nf_conntrack.rules.yml
  jsonnet -S mixin/alerts.jsonnet      == its nf_conntrack.alerts group
  jsonnet -m DIR mixin/dashboards.jsonnet == dashboards/*.json, file for file

(mixin_drift already checks that the checked-in files are what mixin.libsonnet renders; this
checks the entry points a user of jb/mixtool runs.) Also: mixin/jsonnetfile.json is a
jsonnet-bundler file. Exit 0 pass, 1 fail, 77 skip (no jsonnet or python3-yaml).
"""
import argparse
import concurrent.futures
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
MIXIN = ROOT / "mixin"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jsonnet", default=shutil.which("jsonnet"))
    args = ap.parse_args()
    try:
        import yaml
    except ImportError:
        print("SKIP: needs python3-yaml")
        return 77
    if not args.jsonnet:
        print("SKIP: needs jsonnet (Debian package jsonnet)")
        return 77
    failures = []

    def check(cond, msg):
        print(("ok   " if cond else "FAIL ") + msg, flush=True)
        if not cond:
            failures.append(msg)

    def jsonnet(*argv):
        r = subprocess.run([args.jsonnet, *argv], capture_output=True, text=True, cwd=ROOT)
        if r.returncode != 0:
            raise RuntimeError(f"jsonnet {' '.join(argv)}: {r.stderr.strip()}")
        return r.stdout

    shipped = yaml.safe_load((ROOT / "alerts" / "nf_conntrack.rules.yml").read_text())
    by_name = {g["name"]: g for g in shipped["groups"]}
    out_dir = tempfile.TemporaryDirectory()
    # The three renders at once: std.manifestYamlDoc is slow jsonnet, and they are independent.
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        rendered = {entry: pool.submit(jsonnet, "-S", f"mixin/{entry}.jsonnet") for entry in ("rules", "alerts")}
        written = pool.submit(jsonnet, "-m", out_dir.name, "mixin/dashboards.jsonnet")
        rendered = {entry: f.result() for entry, f in rendered.items()}
        written = written.result()
    for entry, group in (("rules", "nf_conntrack.rules"), ("alerts", "nf_conntrack.alerts")):
        got = yaml.safe_load(rendered[entry])
        check(got == {"groups": [by_name[group]]},
              f"jsonnet -S mixin/{entry}.jsonnet renders group {group} of alerts/nf_conntrack.rules.yml "
              f"({len(by_name[group]['rules'])} rules)")

    shipped_dashboards = sorted(p.name for p in (ROOT / "dashboards").glob("*.json"))
    with out_dir as out:
        names = sorted(pathlib.Path(p).name for p in written.split())
        check(names == shipped_dashboards, f"jsonnet -m writes {names}, dashboards/ holds {shipped_dashboards}")
        for name in names:
            got = json.loads((pathlib.Path(out) / name).read_text())
            want = json.loads((ROOT / "dashboards" / name).read_text())
            check(got == want, f"mixin/dashboards.jsonnet's {name} equals dashboards/{name}")

    bundle = json.loads((MIXIN / "jsonnetfile.json").read_text())
    check(bundle.get("version") == 1 and isinstance(bundle.get("dependencies"), list),
          "mixin/jsonnetfile.json is a jsonnet-bundler file (version 1, dependencies)")
    for dep in bundle.get("dependencies", []):
        check("source" in dep, f"dependency {dep} names its source")

    print(f"{'FAILED' if failures else 'PASSED'}: {len(failures)} failed checks")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
