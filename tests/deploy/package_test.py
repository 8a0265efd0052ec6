#!/usr/bin/env python3
"""The Debian package: `cpack -G DEB` on the configured build tree (into a scratch directory),
then dpkg-deb shows what it holds. Checked: name, version, architecture; Depends names the
package of every shared library the binary needs (dpkg-shlibdeps); the binary, the unit, the
EnvironmentFile (a conffile) and every alerts/*.yml and dashboards/*.json are there, byte for
byte; the opt-in notrack rules (deploy/nftables, deploy/iptables, docs/notrack.md) are there,
byte for byte, and nothing enables them; the refused collector's systemd drop-in is
there as an example, byte for byte; the packaged binary runs; the maintainer scripts parse.

  package_test.py --build-dir build
"""
import argparse
import pathlib
import re
import subprocess
import tempfile

from deploytest import SOURCE_DIR, check, finish, need_tools, run

PACKAGE = "nf-conntrack-exporter"
SHARE = f"usr/share/{PACKAGE}"


def cmake_cache(build_dir, key):
    for line in (build_dir / "CMakeCache.txt").read_text().splitlines():
        if line.startswith(key + ":"):
            return line.split("=", 1)[1]
    return ""


def depends_packages(depends):
    """'libc6 (>= 2.34), a | b' -> {'libc6', 'a', 'b'}"""
    names = set()
    for clause in depends.split(","):
        for alternative in clause.split("|"):
            name = re.sub(r"\(.*?\)", "", alternative).strip()
            if name:
                names.add(name.split(":")[0])
    return names


def library_package(soname):
    """The installed Debian package that ships a library, e.g. libmnl.so.0 -> libmnl0."""
    found = run(["dpkg-query", "-S", f"*/{soname}"])
    packages = {line.split(":")[0] for line in found.stdout.splitlines() if ": " in line}
    return packages


def check_dependencies(deb, binary):
    fields = run(["dpkg-deb", "-f", deb, "Depends"]).stdout.strip()
    depends = depends_packages(fields)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]",
                        run(["readelf", "-d", binary]).stdout)
    check(len(needed) >= 4, f"the binary needs shared libraries: {needed}")
    for soname in needed:
        owners = library_package(soname)
        check(bool(owners & depends), f"Depends names the package of {soname} ({sorted(owners)})",
              f"Depends: {fields}")
    # dlopen'ed by kmsg's journald source, invisible to dpkg-shlibdeps.
    recommends = run(["dpkg-deb", "-f", deb, "Recommends"]).stdout.strip()
    check("libsystemd0" in depends_packages(recommends), "Recommends names libsystemd0",
          f"Recommends: {recommends}")


def check_contents(root, listing):
    expected = {
        "usr/bin/nf_conntrack_exporter": None,
        f"usr/lib/systemd/system/{PACKAGE}.service":
            SOURCE_DIR / f"deploy/systemd/{PACKAGE}.service",
        # Shipped disabled: socket activation is the operator's choice (README).
        f"usr/lib/systemd/system/{PACKAGE}.socket":
            SOURCE_DIR / f"deploy/systemd/{PACKAGE}.socket",
        f"etc/default/{PACKAGE}": SOURCE_DIR / f"deploy/systemd/{PACKAGE}.default",
        f"usr/share/doc/{PACKAGE}/copyright": SOURCE_DIR / "deploy/debian/copyright",
        f"usr/share/doc/{PACKAGE}/CHANGELOG.md": SOURCE_DIR / "CHANGELOG.md",
        f"usr/share/doc/{PACKAGE}/notrack.md": SOURCE_DIR / "docs/notrack.md",
        # Opt-in, shipped disabled (docs/notrack.md): examples under /usr/share, a unit that
        # postinst leaves alone.
        f"{SHARE}/nftables/{PACKAGE}-notrack.nft":
            SOURCE_DIR / f"deploy/nftables/{PACKAGE}-notrack.nft",
        f"{SHARE}/nftables/{PACKAGE}-accept-untracked.nft":
            SOURCE_DIR / f"deploy/nftables/{PACKAGE}-accept-untracked.nft",
        f"{SHARE}/iptables/{PACKAGE}-notrack.rules":
            SOURCE_DIR / f"deploy/iptables/{PACKAGE}-notrack.rules",
        f"{SHARE}/iptables/{PACKAGE}-notrack.sh":
            SOURCE_DIR / f"deploy/iptables/{PACKAGE}-notrack.sh",
        f"usr/lib/systemd/system/{PACKAGE}-notrack.service":
            SOURCE_DIR / f"deploy/nftables/{PACKAGE}-notrack.service",
        # The refused collector's drop-in (docs/refused.md): an example, not under /etc.
        f"{SHARE}/systemd/refused.conf": SOURCE_DIR / "deploy/systemd/refused.conf",
    }
    for source in sorted((SOURCE_DIR / "alerts").glob("*.yml")):
        expected[f"{SHARE}/alerts/{source.name}"] = source
    for source in sorted((SOURCE_DIR / "dashboards").glob("*.json")):
        expected[f"{SHARE}/dashboards/{source.name}"] = source
    for path, source in expected.items():
        packaged = root / path
        if not check(packaged.is_file(), f"/{path} is in the package"):
            continue
        if source is not None:
            check(packaged.read_bytes() == source.read_bytes(),
                  f"/{path} equals {source.relative_to(SOURCE_DIR)}")
    mode = re.search(r"^(\S+)\s.*\./usr/bin/nf_conntrack_exporter$", listing, re.M)
    check(mode is not None and mode.group(1) == "-rwxr-xr-x", "the binary is 0755 root:root",
          mode.group(0) if mode else listing)
    script = re.search(rf"^(\S+)\s.*\./{SHARE}/iptables/{PACKAGE}-notrack\.sh$", listing, re.M)
    check(script is not None and script.group(1) == "-rwxr-xr-x",
          "the iptables notrack script is 0755", script.group(0) if script else listing)
    # The unit loads the packaged file, where the package puts nft's rules.
    unit = (root / f"usr/lib/systemd/system/{PACKAGE}-notrack.service")
    if unit.is_file():
        check(f"ExecStart=/usr/sbin/nft -f /{SHARE}/nftables/{PACKAGE}-notrack.nft"
              in unit.read_text(), "the notrack unit loads the packaged nft file")
    # Nothing else under /etc: a package must not ship other configuration.
    others = [line for line in listing.splitlines()
              if "./etc/" in line and not line.endswith(("./etc/", "./etc/default/",
                                                         f"./etc/default/{PACKAGE}"))]
    check(not others, "nothing else under /etc", "\n".join(others))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build-dir", required=True, type=pathlib.Path)
    args = parser.parse_args()
    need_tools("cpack", "dpkg-deb", "dpkg-shlibdeps", "readelf", "file")
    build_dir = args.build_dir.resolve()

    with tempfile.TemporaryDirectory(prefix="nfct-deb-") as tmp:
        tmp = pathlib.Path(tmp)
        made = run(["cpack", "-G", "DEB", "--config", build_dir / "CPackConfig.cmake", "-B", tmp])
        debs = sorted(tmp.glob("*.deb"))
        if not check(made.returncode == 0 and len(debs) == 1, "cpack -G DEB makes one package",
                     made.stdout[-3000:] + made.stderr[-3000:]):
            finish()
        deb = debs[0]
        print(f"     {deb.name}: {deb.stat().st_size} bytes")

        version = cmake_cache(build_dir, "CMAKE_PROJECT_VERSION") or "0.1.0"
        arch = run(["dpkg", "--print-architecture"]).stdout.strip()
        for field, want in [("Package", PACKAGE), ("Version", version), ("Architecture", arch),
                            ("Section", "net")]:
            got = run(["dpkg-deb", "-f", deb, field]).stdout.strip()
            check(got == want, f"{field}: {want}", f"got {got!r}")
        summary = run(["dpkg-deb", "-f", deb, "Description"]).stdout
        check("conntrack" in summary, "Description says what it is")

        root = tmp / "root"
        run(["dpkg-deb", "-x", deb, root])
        listing = run(["dpkg-deb", "-c", deb]).stdout
        check_contents(root, listing)
        check_dependencies(deb, root / "usr/bin/nf_conntrack_exporter")

        control = tmp / "control"
        run(["dpkg-deb", "-e", deb, control])
        conffiles = (control / "conffiles").read_text().split() if (
            control / "conffiles").exists() else []
        check(conffiles == [f"/etc/default/{PACKAGE}"], "conffiles: /etc/default/" + PACKAGE,
              f"got {conffiles}")
        for script in ("postinst", "prerm", "postrm"):
            path = control / script
            ok = path.exists() and run(["sh", "-n", path]).returncode == 0
            check(ok, f"{script} is there and parses")
            # Scrapes stay tracked until the operator opts in: no maintainer script names the
            # notrack unit or loads a rule.
            text = path.read_text() if path.exists() else ""
            check("notrack" not in text and "nft " not in text and "iptables" not in text,
                  f"{script} enables no notrack rule")
        suggests = run(["dpkg-deb", "-f", deb, "Suggests"]).stdout
        check("nftables" in suggests and "iptables" in suggests,
              "Suggests names nftables and iptables (the notrack rules' loaders)", suggests)

        version_line = run([root / "usr/bin/nf_conntrack_exporter", "--version"])
        check(version_line.returncode == 0 and version in version_line.stdout,
              f"the packaged binary runs: {version_line.stdout.strip()}", version_line.stderr)
    finish()


if __name__ == "__main__":
    main()
