"""Shared bits of the tests/deploy scripts: named checks, skips and the exit code ctest reads.

Every script prints one `ok`/`FAIL` line per check and exits 0 (all passed), 1 (a check failed)
or 77 (skipped; ctest's SKIP_RETURN_CODE) with the reason on the last line.
"""
import os
import pathlib
import shutil
import subprocess
import sys

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]
SKIP = 77
_failures = []


def check(condition, message, detail=""):
    print(("ok   " if condition else "FAIL ") + message)
    if not condition:
        if detail:
            print("     " + str(detail).strip().replace("\n", "\n     "))
        _failures.append(message)
    return condition


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(SKIP)


def need_tools(*tools):
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        skip(f"{', '.join(missing)} not installed (scripts/install-deps.sh test installs it)")


def need_root(what):
    if os.geteuid() != 0:
        skip(f"{what} needs root")


def run(argv, **kwargs):
    """Runs argv, returns CompletedProcess with text stdout/stderr; never raises on exit code."""
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    return subprocess.run([str(a) for a in argv], check=False, **kwargs)


def finish():
    print(f"{len(_failures)} failed" if _failures else "all checks passed")
    sys.exit(1 if _failures else 0)
