#!/usr/bin/env python3
"""deploy/kubernetes, offline: the generated PrometheusRule and dashboards ConfigMap match
alerts/ and dashboards/ as data after kustomize; every kustomization
renders with `kubectl kustomize`; every rendered object validates against its API schema (npm
kubernetes-models, @kubernetes-models/prometheus-operator, pinned in k8s/package-lock.json and
installed into the build tree) with no key the schema does not know; the PrometheusRules pass
`promtool check rules`; the DaemonSet keeps the least-privilege settings of issue 6 and its
args are flags the built binary accepts.

  kubernetes_test.py --binary build/exporter/nf_conntrack_exporter --work-dir build/deploy-k8s
"""
import argparse
import os
import signal
import subprocess
import time
import filecmp
import json
import pathlib
import re
import shutil
import tempfile

from deploytest import SOURCE_DIR, check, finish, need_tools, run, skip

K8S = SOURCE_DIR / "deploy/kubernetes"
ROOTS = ["", "base", "monitoring", "overlays/kernel-log", "overlays/annotated-service",
         "overlays/notrack"]
# What the DaemonSet's collectors declare (the exporter's start log, capabilities=...) but the
# pod is not granted, with the reason (base/daemonset.yaml says it at length).
NOT_GRANTED = {"SYS_ADMIN": "setns() into a netns no process holds; every pod's netns has its "
                            "sandbox process, read through /proc"}
IMAGE_PLACEHOLDER = "registry.invalid/nf-conntrack-exporter"


def npm_install(work_dir):
    """node_modules for validate.mjs, from the lockfile; reinstalled only when it changes."""
    work_dir.mkdir(parents=True, exist_ok=True)
    here = pathlib.Path(__file__).parent / "k8s"
    lock = here / "package-lock.json"
    stamp = work_dir / "node_modules/.package-lock.json"
    if not (stamp.exists() and filecmp.cmp(lock, work_dir / "package-lock.json", shallow=False)):
        for name in ("package.json", "package-lock.json"):
            shutil.copy(here / name, work_dir / name)
        installed = run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
                        cwd=work_dir, timeout=600)
        if not check(installed.returncode == 0, "npm ci (pinned kubernetes-models)",
                     installed.stderr[-3000:]):
            finish()
    shutil.copy(here / "validate.mjs", work_dir / "validate.mjs")
    return work_dir / "validate.mjs"


def need_kustomize_v4():
    # Debian's kubernetes-client (1.20) embeds kustomize v2, which knows neither directories
    # in `resources` nor `patches`; kubectl 1.21+ embeds v4+.
    version = run(["kubectl", "version", "--client"]).stdout
    match = re.search(r"Kustomize Version: v(\d+)", version)
    if not match or int(match.group(1)) < 4:
        skip(f"kubectl with kustomize v4 or later needed (kubectl 1.21+), got: {version.strip()}")


def render(root):
    rendered = run(["kubectl", "kustomize", K8S / root])
    check(rendered.returncode == 0, f"kubectl kustomize deploy/kubernetes/{root}",
          rendered.stderr)
    return rendered.stdout


def as_json(validator, yaml_text, tmp):
    """The rendered objects as a list of dicts (node's yaml parser; Python has none)."""
    source = tmp / "objects.yaml"
    source.write_text(yaml_text)
    script = ("import fs from 'node:fs'; import { parseAllDocuments } from 'yaml';"
              "const docs = parseAllDocuments(fs.readFileSync(process.argv[1], 'utf8'));"
              "console.log(JSON.stringify(docs.map((d) => d.toJS()).filter((o) => o)));")
    out = run(["node", "--input-type=module", "-e", script, source], cwd=validator.parent)
    return json.loads(out.stdout or "[]")


def check_daemonset(objects, binary):
    daemonsets = [o for o in objects if o["kind"] == "DaemonSet"]
    if not check(len(daemonsets) == 1, "one DaemonSet"):
        return
    ds = daemonsets[0]
    pod = ds["spec"]["template"]["spec"]
    container = pod["containers"][0]
    security = container.get("securityContext", {})
    pod_security = pod.get("securityContext", {})
    mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    proc = mounts.get("/host/proc", {})
    checks = [
        (pod.get("hostNetwork") is True, "hostNetwork: the node's conntrack table"),
        (proc.get("readOnly") is True and
         volumes.get(proc.get("name"), {}).get("hostPath", {}).get("path") == "/proc",
         "host /proc read-only at /host/proc"),
        ("--path.procfs=/host/proc" in container.get("args", []), "--path.procfs=/host/proc"),
        (pod_security.get("runAsUser") == 65534 and pod_security.get("runAsNonRoot") is True,
         "runs as non-root 65534"),
        (security.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation: false"),
        (security.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem"),
        (security.get("capabilities") == {"drop": ["ALL"], "add": ["NET_ADMIN", "SYS_PTRACE"]},
         "capabilities: drop ALL, add NET_ADMIN (netlink) and SYS_PTRACE (other pods' ns/net) only"),
        (pod.get("priorityClassName") == "system-node-critical",
         "priorityClassName: system-node-critical"),
        (container.get("image", "").startswith(IMAGE_PLACEHOLDER + ":"),
         f"image set through kustomize images: to the documented placeholder {IMAGE_PLACEHOLDER}"),
        (pod.get("nodeSelector") == {"kubernetes.io/os": "linux"}, "pinned to Linux nodes"),
        (pod.get("hostPID") is not True, "no hostPID: the host's /proc mount shows every process"),
        (mounts.get("/run/netns", {}).get("readOnly") is True and
         mounts.get("/run/netns", {}).get("mountPropagation") == "HostToContainer" and
         volumes.get(mounts.get("/run/netns", {}).get("name"), {}).get("hostPath", {}).get("path")
         == "/run/netns", "host /run/netns read-only, HostToContainer (ip netns names)"),
        (pod_security.get("seccompProfile", {}).get("type") == "RuntimeDefault",
         "seccomp RuntimeDefault"),
        ({"operator": "Exists"} in pod.get("tolerations", []), "tolerates every taint"),
        (container.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/-/healthy",
         "liveness probe on /-/healthy"),
        (container.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/-/ready",
         "readiness probe on /-/ready"),
        (ds["spec"].get("updateStrategy", {}).get("rollingUpdate", {}).get("maxUnavailable")
         == "10%", "RollingUpdate maxUnavailable 10%"),
        (all(k in container.get("resources", {}).get(s, {})
             for s in ("requests", "limits") for k in ("cpu", "memory")),
         "cpu and memory requests and limits"),
        (pod.get("automountServiceAccountToken") is False, "no service account token"),
    ]
    for ok, message in checks:
        check(ok, f"DaemonSet: {message}")
    # An unknown flag makes the exporter exit 2: the manifest's args must suit this binary.
    accepted = run([binary, *container.get("args", []), "--help"])
    check(accepted.returncode == 0, f"the built binary accepts the args {container['args']}",
          accepted.stderr)
    check_capabilities_match(binary, container)


def check_capabilities_match(binary, container):
    """The pod's capabilities are what the exporter, started with the DaemonSet's args, keeps
    (its start log: capabilities=net_admin,...), less NOT_GRANTED. Root only: unprivileged, the
    exporter holds nothing and the log says capabilities=none."""
    if os.geteuid() != 0:
        print("skip the start-log comparison: not root (the exporter would hold no capability)")
        return
    args = [a for a in container.get("args", []) if not a.startswith("--web.listen-address")
            and not a.startswith("--path.procfs")]
    proc = subprocess.Popen([binary, *args, "--web.listen-address=127.0.0.1:0"],
                            stderr=subprocess.PIPE, text=True)
    held = None
    deadline = time.time() + 10
    try:
        while time.time() < deadline and held is None:
            line = proc.stderr.readline()
            if not line:
                break
            match = re.search(r'msg="starting nf_conntrack_exporter".* capabilities=("[^"]*"|\S+)', line)
            if match:
                held = match.group(1).strip('"')
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    if not check(held is not None, "the exporter with the DaemonSet's args logs the capabilities it keeps"):
        return
    needed = {c.upper() for c in held.split(",") if c and c != "none"}
    granted = set(container.get("securityContext", {}).get("capabilities", {}).get("add", []))
    check(granted == needed - set(NOT_GRANTED) and set(NOT_GRANTED) <= needed,
          f"DaemonSet capabilities {sorted(granted)} = what its collectors declare {sorted(needed)} "
          f"less {sorted(NOT_GRANTED)} ({'; '.join(NOT_GRANTED.values())})")


def check_one_discovery_path(objects, root):
    """Exactly one way for Prometheus to find the pods: two would scrape every node twice."""
    kinds = [o["kind"] for o in objects]
    paths = kinds.count("PodMonitor") + sum(
        1 for o in objects if o["kind"] == "Service"
        and o["metadata"].get("annotations", {}).get("prometheus.io/scrape") == "true")
    check(paths == 1, f"deploy/kubernetes/{root}: one discovery path (PodMonitor or annotated Service), found {paths}")


def check_service(objects):
    services = [o for o in objects if o["kind"] == "Service"]
    if not check(len(services) == 1, "annotated-service overlay: one Service (Prometheus without the Operator)"):
        return
    svc = services[0]
    notes = svc["metadata"].get("annotations", {})
    check(notes.get("prometheus.io/scrape") == "true" and notes.get("prometheus.io/port") == "9725"
          and notes.get("prometheus.io/path") == "/metrics", "Service: prometheus.io scrape annotations")
    check(svc["spec"].get("selector") == {"app.kubernetes.io/name": "nf-conntrack-exporter"} and
          svc["spec"]["ports"][0].get("targetPort") == "metrics", "Service: selects the exporter pods' metrics port")


def check_kernel_log_overlay(objects):
    """The kernel-log overlay reads the host journal: no privileged pod, no host device."""
    ds = [o for o in objects if o["kind"] == "DaemonSet"][0]
    pod = ds["spec"]["template"]["spec"]
    container = pod["containers"][0]
    security = container.get("securityContext", {})
    mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    journal = mounts.get("/host/journal", {})
    check(not security.get("privileged"), "kernel-log overlay: not privileged")
    check(security.get("allowPrivilegeEscalation") is False, "kernel-log overlay: allowPrivilegeEscalation: false")
    check(security.get("capabilities", {}).get("drop") == ["ALL"] and
          "SYSLOG" not in security.get("capabilities", {}).get("add", []),
          "kernel-log overlay: drop ALL, no SYSLOG (no /dev/kmsg)")
    check(journal.get("readOnly") is True and
          volumes.get(journal.get("name"), {}).get("hostPath", {}).get("path") == "/var/log/journal",
          "kernel-log overlay: the host journal mounted read-only")
    check(not any(v.get("hostPath", {}).get("path", "").startswith("/dev") for v in volumes.values()),
          "kernel-log overlay: no host device")
    check("--collector.kmsg.source=journald:/host/journal" in container.get("args", []),
          "kernel-log overlay: journald source on the mounted journal")


def check_notrack_overlay(objects, base_objects):
    """The notrack overlay: one init container loads the shipped nft file with NET_ADMIN alone in
    the node's netns; the exporter container is the base's, so it never writes a rule."""
    ds = [o for o in objects if o["kind"] == "DaemonSet"][0]
    base_ds = [o for o in base_objects if o["kind"] == "DaemonSet"][0]
    pod = ds["spec"]["template"]["spec"]
    check(pod.get("hostNetwork") is True, "notrack overlay: hostNetwork (the node's ruleset)")
    inits = pod.get("initContainers", [])
    if not check(len(inits) == 1, "notrack overlay: one init container", json.dumps(inits)):
        return
    init = inits[0]
    security = init.get("securityContext", {})
    nft_file = "/usr/share/nf-conntrack-exporter/nftables/nf-conntrack-exporter-notrack.nft"
    check(init.get("args") == ["-f", nft_file], f"notrack overlay: nft -f {nft_file}",
          json.dumps(init.get("args")))
    dockerfile = (SOURCE_DIR / "deploy/nftables/Dockerfile").read_text()
    check("COPY deploy/nftables/nf-conntrack-exporter-notrack.nft "
          "/usr/share/nf-conntrack-exporter/nftables/" in dockerfile and
          'ENTRYPOINT ["/usr/sbin/nft"]' in dockerfile,
          "notrack overlay: its image (deploy/nftables/Dockerfile) holds that file and runs nft")
    check(security.get("capabilities") == {"drop": ["ALL"], "add": ["NET_ADMIN"]} and
          not security.get("privileged") and security.get("allowPrivilegeEscalation") is False
          and security.get("readOnlyRootFilesystem") is True,
          "notrack overlay: init container drops ALL, adds only NET_ADMIN, not privileged",
          json.dumps(security))
    check(pod["containers"] == base_ds["spec"]["template"]["spec"]["containers"],
          "notrack overlay: the exporter container is unchanged (it writes no rule)")


def check_podmonitor(objects):
    monitors = [o for o in objects if o["kind"] == "PodMonitor"]
    if not check(len(monitors) == 1, "one PodMonitor"):
        return
    endpoint = monitors[0]["spec"]["podMetricsEndpoints"][0]
    relabel = {r.get("targetLabel"): r for r in endpoint.get("relabelings", [])}
    check(relabel.get("instance", {}).get("sourceLabels") == ["__meta_kubernetes_pod_node_name"],
          "PodMonitor: instance = the node name")
    check(relabel.get("job", {}).get("replacement") == "nf_conntrack",
          "PodMonitor: job = nf_conntrack (a readable name; the rendered rules select no job)")
    check(endpoint.get("port") == "metrics" and endpoint.get("path") == "/metrics",
          "PodMonitor: scrapes port metrics, /metrics")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--work-dir", required=True, type=pathlib.Path)
    args = parser.parse_args()
    need_tools("kubectl", "node", "npm", "promtool")
    need_kustomize_v4()

    validator = npm_install(args.work_dir.resolve())
    with tempfile.TemporaryDirectory(prefix="nfct-k8s-") as tmp:
        tmp = pathlib.Path(tmp)
        for root in ROOTS:
            text = render(root)
            out = tmp / f"{root.replace('/', '_') or 'all'}.yaml"
            out.write_text(text)
            rules = tmp / f"rules-{out.stem}"
            rules.mkdir()
            validated = run(["node", validator, out, "--rules-dir", rules,
                             *(["--sources", SOURCE_DIR] if root == "" else [])])
            check(validated.returncode == 0,
                  f"deploy/kubernetes/{root}: objects valid, no unknown keys" +
                  (", no drift from alerts/ and dashboards/" if root == "" else ""),
                  validated.stdout[-4000:] + validated.stderr[-2000:])
            for rule_file in sorted(rules.glob("*.json")):
                promtool = run(["promtool", "check", "rules", rule_file])
                check(promtool.returncode == 0, f"promtool check rules {rule_file.stem}",
                      promtool.stdout + promtool.stderr)
            objects = as_json(validator, text, tmp)
            if root in ("", "overlays/kernel-log", "overlays/annotated-service"):
                check_one_discovery_path(objects, root)
            if root == "overlays/kernel-log":
                check_kernel_log_overlay(objects)
            if root == "overlays/notrack":
                check_notrack_overlay(objects,
                                      as_json(validator, (tmp / "base.yaml").read_text(), tmp))
            if root == "overlays/annotated-service":
                check_service(objects)
                check(not any(o["kind"] == "PodMonitor" for o in objects),
                      "annotated-service overlay: no PodMonitor")
            if root == "":
                check_daemonset(objects, args.binary)
                check(not any(o["kind"] == "Service" for o in objects),
                      "default: no annotated Service (the PodMonitor is the discovery path)")
                check_podmonitor(objects)
                dashboards = [o for o in objects if o["kind"] == "ConfigMap"]
                check(any(o["metadata"].get("labels", {}).get("grafana_dashboard") == "1"
                          for o in dashboards), 'dashboards ConfigMap labelled grafana_dashboard: "1"')
    finish()


if __name__ == "__main__":
    main()
