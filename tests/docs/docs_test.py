#!/usr/bin/env python3
"""The documentation keeps up with the code and with itself.

1. Flags: every flag `nf_conntrack_exporter --help` prints is documented in docs/flags.md, and
   every flag `nf_conntrack_exporter doctor --help` prints in its `## doctor` section; every
   flag a table row of docs/flags.md documents exists in that --help (no flag documented that
   the binary no longer has). The README lists no flags itself; should it grow a flag table
   (a row starting with `--`), that table is held to the same rule.
2. Links: every relative link of README.md, CONTRIBUTING.md and docs/**/*.md points at a file
   or folder that exists, and its #anchor, where it has one and points into a Markdown file,
   at a heading of that file (GitHub's anchors). Links inside code are not links.

Exit 0 pass, 1 fail.
"""
import argparse
import glob
import os
import re
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
FAILURES = []

# A flag at the start of a help line: "  --web.listen-address=ADDRESS   ..." or "  --[no-]collector.x".
HELP_FLAG = re.compile(r"^\s+(--(?:\[no-\])?[a-z][a-z0-9.-]*)", re.M)
# A flag in Markdown text: `--foo.bar=VALUE`, `--[no-]collector.x`, `--no-collector.x`.
DOC_FLAG = re.compile(r"--(?:\[no-\])?[a-z][a-z0-9.<>-]*[a-z0-9>]")


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg, flush=True)
    if not cond:
        FAILURES.append(msg)
    return cond


def help_flags(argv):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {r.returncode}: {r.stderr.strip()}")
    flags = sorted(set(HELP_FLAG.findall(r.stdout + r.stderr)))
    if not flags:
        raise SystemExit(f"{' '.join(argv)} printed no flag at all:\n{r.stdout}{r.stderr}")
    return flags


def strip_code_blocks(text):
    """The text with fenced code blocks blanked (line numbers kept)."""
    out, fence = [], None
    for line in text.split("\n"):
        m = re.match(r"^\s*(`{3,}|~{3,})", line)
        if fence is None and m:
            fence = m.group(1)[0] * len(m.group(1))
            out.append("")
        elif fence is not None:
            if line.strip().startswith(fence) and line.strip().strip(fence[0]) == "":
                fence = None
            out.append("")
        else:
            out.append(line)
    return "\n".join(out)


def strip_code_spans(line):
    return re.sub(r"(`+)(.+?)\1", "", line)


def documented(flag, text):
    """Is flag (as --help spells it) named in text, as a whole flag?"""
    pattern = re.escape(flag) + r"(?![a-z0-9.-])"
    if re.search(pattern, text):
        return True
    if flag.startswith("--[no-]"):
        # `--no-collector.x` or `--collector.x` also document the pair.
        bare = flag[len("--[no-]"):]
        return re.search(r"--(?:no-)?" + re.escape(bare) + r"(?![a-z0-9.-])", text) is not None
    return False


def table_flags(text):
    """Flags named in the first column of Markdown table rows."""
    found = []
    for line in strip_code_blocks(text).split("\n"):
        m = re.match(r"^\|\s*([^|]*)\|", line)
        if m and "--" in m.group(1):
            for flag in DOC_FLAG.findall(m.group(1)):
                found.append(flag.split("=")[0])
    return found


def section(text, heading):
    m = re.search(r"^## " + re.escape(heading) + r"\s*$", text, re.M)
    if not m:
        return ""
    rest = text[m.end():]
    end = re.search(r"^## ", rest, re.M)
    return rest[:end.start()] if end else rest


def check_flags(exporter):
    flags_md_path = os.path.join(ROOT, "docs", "flags.md")
    flags_md = open(flags_md_path).read()
    main_flags = help_flags([exporter, "--help"])
    doctor_flags = help_flags([exporter, "doctor", "--help"])
    missing = [f for f in main_flags if not documented(f, flags_md)]
    check(not missing, f"docs/flags.md documents all {len(main_flags)} flags of --help"
          + (f"; missing: {missing}" if missing else ""))
    doctor_md = section(flags_md, "doctor")
    check(doctor_md != "", "docs/flags.md has a `## doctor` section")
    missing = [f for f in doctor_flags if not documented(f, doctor_md)]
    check(not missing, f"docs/flags.md#doctor documents all {len(doctor_flags)} flags of doctor --help"
          + (f"; missing: {missing}" if missing else ""))

    def exists(flag, known):
        if flag in known or flag == "--[no-]collector.<name>":
            return True
        if flag.startswith("--no-"):
            return "--[no-]" + flag[len("--no-"):] in known
        return "--[no-]" + flag[2:] in known

    for path, text, known in (("docs/flags.md", flags_md, sorted(set(main_flags) | set(doctor_flags))),
                              ("docs/flags.md#doctor", doctor_md, doctor_flags),
                              ("README.md", open(os.path.join(ROOT, "README.md")).read(), main_flags)):
        listed = table_flags(text)
        if path != "README.md":
            check(listed != [], f"{path} has a flag table ({len(listed)} flags)")
        stale = sorted({f for f in listed if not exists(f, known)})
        check(not stale, f"every flag in {path}'s tables exists in --help"
              + (f"; not there: {stale}" if stale else ""))


def slug(heading):
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links keep their text
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path, cache={}):
    if path not in cache:
        seen, result = {}, set()
        for line in strip_code_blocks(open(path).read()).split("\n"):
            m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
            if not m:
                continue
            s = slug(m.group(1))
            n = seen.get(s, 0)
            seen[s] = n + 1
            result.add(s if n == 0 else f"{s}-{n}")
        for m in re.finditer(r"<a\s+(?:name|id)=\"([^\"]+)\"", open(path).read()):
            result.add(m.group(1))
        cache[path] = result
    return cache[path]


LINK = re.compile(r"(?<!\\)\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def check_links():
    files = [os.path.join(ROOT, "README.md"), os.path.join(ROOT, "CONTRIBUTING.md")]
    files += sorted(glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True))
    total, broken = 0, []
    for path in files:
        if not os.path.exists(path):
            broken.append(f"{os.path.relpath(path, ROOT)} does not exist")
            continue
        text = strip_code_blocks(open(path).read())
        for lineno, line in enumerate(text.split("\n"), 1):
            for url in LINK.findall(strip_code_spans(line)):
                if re.match(r"^[a-z][a-z0-9+.-]*:", url):  # https:, mailto:
                    continue
                total += 1
                where = f"{os.path.relpath(path, ROOT)}:{lineno}: {url}"
                target, _, anchor = url.partition("#")
                target_path = os.path.normpath(os.path.join(os.path.dirname(path), target)) if target else path
                if not os.path.exists(target_path):
                    broken.append(f"{where} (no such file)")
                    continue
                if not os.path.realpath(target_path).startswith(ROOT + os.sep):
                    broken.append(f"{where} (outside the repository)")
                    continue
                if anchor and target_path.endswith(".md") and anchor not in anchors(target_path):
                    broken.append(f"{where} (no heading #{anchor} in {os.path.relpath(target_path, ROOT)})")
    check(total > 0, f"found {total} relative links in {len(files)} files")
    check(not broken, f"every relative link resolves ({len(broken)} broken)")
    for b in broken:
        print(f"     broken: {b}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exporter", required=True, help="the nf_conntrack_exporter binary")
    args = ap.parse_args()
    check_flags(args.exporter)
    check_links()
    print(f"{'FAILED' if FAILURES else 'PASSED'}: {len(FAILURES)} failed checks", flush=True)
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
