"""Helpers for tests that run real Prometheus / Alertmanager / exporter processes.

Used by tests/alerts/alertmanager_test.py, tests/live_chain/live_chain_test.py and
tests/fleet/fleet_test.py.
Everything listens on 127.0.0.1 on ports picked at run time; every process is started
here, remembered by PID and stopped by that PID on every exit path (normal return,
exception, SIGTERM/SIGINT/SIGHUP); children also get PR_SET_PDEATHSIG so they die with
the test even if it is SIGKILLed. Standard library only.
"""

import ctypes
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

SKIP = 77  # ctest SKIP_RETURN_CODE

# Every failed check of this run, in order; a test exits 1 when it is not empty.
FAILURES = []


def check(cond, msg):
    """Prints one ok/FAIL line and remembers a failure; returns cond."""
    print(("ok   " if cond else "FAIL ") + msg, flush=True)
    if not cond:
        FAILURES.append(msg)
    return cond


def run(argv, check_rc=True, **kw):
    """subprocess.run with text output captured; raises RuntimeError on a non-zero exit."""
    r = subprocess.run(argv, capture_output=True, text=True, **kw)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def read_int(path):
    with open(path) as f:
        return int(f.read().strip())


def remove_stale_netns(pattern):
    """Deletes the namespaces under /run/netns whose name matches `pattern` (its first group a
    PID) and whose process no longer exists: left by an earlier run that was SIGKILLed."""
    try:
        names = os.listdir("/run/netns")
    except FileNotFoundError:
        return
    for name in names:
        m = re.fullmatch(pattern, name)
        if m and not os.path.exists(f"/proc/{m.group(1)}"):
            log(f"removing stale netns {name} of a run that no longer exists")
            run(["ip", "netns", "del", name], check_rc=False)

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def skip(reason):
    print(f"SKIP: {reason}", flush=True)
    sys.exit(SKIP)


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent():
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class Cleanup:
    """A stack of undo actions run once, on exit or on a fatal signal."""

    def __init__(self):
        self._actions = []
        self._done = False
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def push(self, name, fn):
        self._actions.append((name, fn))

    def _on_signal(self, signum, _frame):
        log(f"signal {signum}: cleaning up")
        self.run()
        sys.exit(128 + signum)

    def run(self):
        if self._done:
            return
        self._done = True
        while self._actions:
            name, fn = self._actions.pop()
            try:
                fn()
            except Exception as e:  # keep undoing the rest
                log(f"cleanup step {name!r} failed: {e}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.run()
        return False


class Proc:
    """One server process, started and stopped by PID, its output in a log file."""

    def __init__(self, name, argv, log_path, cleanup):
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.popen = subprocess.Popen(
            argv, stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        self.pid = self.popen.pid
        cleanup.push(f"stop {name} pid {self.pid}", self.stop)
        log(f"started {name} pid {self.pid}: {' '.join(argv)}")

    def alive(self):
        return self.popen.poll() is None

    def stop(self):
        if self.popen.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
            log(f"stopped {self.name} pid {self.pid} (exit {self.popen.returncode})")
        self._log.close()

    def tail(self, lines=30):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")
        except OSError:
            return ""


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def http_json(url, payload=None, timeout=5):
    data = None
    headers = {}
    if payload is not None:
        data = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        body = r.read()
    return json.loads(body) if body else None


def wait_until(what, predicate, timeout, interval=0.2):
    """Polls predicate() until it returns a truthy value; raises after timeout."""
    deadline = time.monotonic() + timeout
    last_err = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (OSError, urllib.error.URLError, ValueError) as e:
            last_err = e
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}"
                       + (f" (last error: {last_err})" if last_err else ""))


def wait_http_ok(url, timeout, proc=None):
    def ok():
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{proc.name} exited early:\n{proc.tail()}")
        return http_get(url, timeout=2) is not None
    return wait_until(url, ok, timeout)


class Webhook:
    """An Alertmanager webhook receiver: records every POST with its arrival time."""

    def __init__(self, cleanup, port=None):
        self.deliveries = []  # (monotonic time, path, payload)
        self._lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {"unparsable": body.decode(errors="replace")}
                with outer._lock:
                    outer.deliveries.append((time.monotonic(), self.path, payload))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port or 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        cleanup.push("stop webhook", self.stop)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def alerts(self):
        """[(time, receiver path, status, labels)] for every alert in every delivery."""
        with self._lock:
            out = []
            for t, path, payload in self.deliveries:
                for a in payload.get("alerts", []):
                    out.append((t, path, a.get("status"), a.get("labels", {})))
            return out


def rewrite_webhook_urls(config_text, base_url):
    """Points every webhook url of an Alertmanager config at base_url/<receiver name>.

    Only the `url:` lines change; routing and inhibitions stay byte-identical. Returns
    (new_text, {receiver: new_url}).
    """
    out = []
    receiver = None
    rewritten = {}
    in_receivers = False
    for line in config_text.splitlines(keepends=True):
        if re.match(r"^receivers:\s*$", line):
            in_receivers = True
        elif re.match(r"^\S", line):
            in_receivers = False
        m = re.match(r"^\s*-\s*name:\s*['\"]?([\w.-]+)", line)
        if in_receivers and m:
            receiver = m.group(1)
        m = re.match(r"^(\s*-?\s*url:\s*)\S+(\s*)$", line)
        if in_receivers and m and receiver:
            url = f"{base_url}/{receiver}"
            line = f"{m.group(1)}{url}{m.group(2)}"
            rewritten[receiver] = url
        out.append(line)
    return "".join(out), rewritten


def alert_rules(rules_path):
    """Every rule of our rendered rules file: [{"alert"|"record": name, "expr": ..., ...}]."""
    import yaml  # python3-yaml; only the callers that read rules need it
    with open(rules_path) as f:
        doc = yaml.safe_load(f)
    return [r for g in doc["groups"] for r in g["rules"]]


def alert_names_and_severities(rules_path):
    """{alertname: severity} from our rules file."""
    return {r["alert"]: r.get("labels", {}).get("severity") for r in alert_rules(rules_path) if "alert" in r}


class Prom:
    """The HTTP API of one Prometheus: instant and range queries, label values, alerts."""

    def __init__(self, base):
        self.base = base

    def query(self, expr, at=None):
        q = {"query": expr}
        if at is not None:
            q["time"] = f"{at:.3f}"
        r = http_json(f"{self.base}/api/v1/query?{urllib.parse.urlencode(q)}", timeout=10)
        return r["data"]["result"]

    def query_range(self, expr, start, end, step):
        q = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": step}
        r = http_json(f"{self.base}/api/v1/query_range?{urllib.parse.urlencode(q)}", timeout=20)
        return r["data"]["result"]

    def label_values(self, label, selector):
        q = urllib.parse.urlencode({"match[]": selector})
        return http_json(f"{self.base}/api/v1/label/{label}/values?{q}", timeout=10)["data"]

    def scalar(self, expr):
        res = self.query(expr)
        return float(res[0]["value"][1]) if res else None

    def alerts(self):
        return http_json(f"{self.base}/api/v1/alerts", timeout=10)["data"]["alerts"]
