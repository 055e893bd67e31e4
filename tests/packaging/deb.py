#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""make deb builds the Debian package and lintian finds no error in it; `apt-get
install ./sendguard_*.deb` installs it on this machine, sendguardd --version
and sendguard policy check run from the installed paths, the unit passes
`systemd-analyze verify` where it is installed, /etc holds the conffiles;
`apt-get remove` removes the programs and keeps the conffiles, `apt-get purge`
leaves nothing behind.

Needs root, dpkg-buildpackage, debhelper, lintian, apt-get (make deps). One
line per test, then `N passed, N failed`; exit 1 on failure.
"""
import argparse
import glob
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from fleet import finish, prerequisites  # noqa: E402
from harness import Results  # noqa: E402

APT = ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=300"]
FILES = ["/usr/sbin/sendguardd", "/usr/bin/sendguard", "/lib/systemd/system/sendguardd.service",
         "/usr/share/man/man8/sendguardd.8.gz", "/usr/share/man/man8/sendguard.8.gz",
         "/usr/share/man/man5/sendguard-policy.5.gz"]
POLICIES = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "policies", "*.json")))
CONFFILES = ["/etc/default/sendguard"] + [f"/etc/sendguard/{p}" for p in POLICIES]


def run(args, timeout=600, **kw):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env, **kw)


def dpkg_status():
    r = run(["dpkg-query", "-W", "-f=${Status}", "sendguard"])
    return r.stdout.strip() if r.returncode == 0 else "not-installed"


def version():
    with open(os.path.join(ROOT, "packaging", "debian", "changelog")) as f:
        return re.match(r"sendguard \(([^)]+)\)", f.readline()).group(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    res = Results()
    if not prerequisites(res, "deb", ["dpkg-buildpackage", "dh", "lintian", "apt-get",
                                      "systemd-analyze"]):
        return finish(res)
    if dpkg_status() != "not-installed":
        res.report("deb", [f"sendguard is already known to dpkg ({dpkg_status()}): this test "
                           "installs and purges it; remove it first"])
        return finish(res)
    ver = version()

    # --- build and lint ---------------------------------------------------------------
    r = run(["make", "-s", "-C", ROOT, f"OUTPUT={build}", "deb"], timeout=1800)
    debs = glob.glob(os.path.join(build, "deb", f"sendguard_{ver}_*.deb"))
    p = []
    if r.returncode or len(debs) != 1:
        p.append(f"make deb: rc {r.returncode}, {debs}: {(r.stdout + r.stderr).strip()[-800:]}")
    lint = run(["lintian", "--fail-on", "error", "--suppress-tags",
                "bad-distribution-in-changes-file"] + debs[:1]) if debs else None
    if lint and (lint.returncode or re.search(r"^E: ", lint.stdout, re.M)):
        p.append(f"lintian: {lint.stdout.strip()[:800]}")
    res.report("deb_build_lintian_no_errors", p)
    if p:
        return finish(res)
    deb = debs[0]
    if lint.stdout.strip():
        print("     lintian: " + " | ".join(l for l in lint.stdout.splitlines()
                                             if not l.startswith("N:")))

    # --- install ---------------------------------------------------------------------
    p = []
    try:
        r = run(APT + ["install", "--no-install-recommends", deb])
        if r.returncode:
            p.append(f"apt-get install: {r.returncode}: {(r.stdout + r.stderr).strip()[-800:]}")
        if dpkg_status() != "install ok installed":
            p.append(f"dpkg status {dpkg_status()}")
        for f in FILES + CONFFILES:
            if not os.path.exists(f):
                p.append(f"{f} not installed")
        r = run(["/usr/sbin/sendguardd", "--version"])
        if r.stdout.strip() != f"sendguardd {ver}":
            p.append(f"sendguardd --version: {r.stdout.strip()!r}, want 'sendguardd {ver}'")
        for pol in POLICIES:
            r = run(["/usr/bin/sendguard", "policy", "check", f"/etc/sendguard/{pol}"])
            if r.returncode:
                p.append(f"sendguard policy check /etc/sendguard/{pol}: {r.returncode} "
                         f"{r.stderr.strip()[:200]}")
        r = run(["sh", "-c", '. /etc/default/sendguard && exec /usr/sbin/sendguardd -f -n '
                 '$SENDGUARDD_OPTS'])
        if r.returncode:
            p.append(f"sendguardd -f -n $SENDGUARDD_OPTS: {r.returncode} {r.stderr.strip()}")
        r = run(["systemd-analyze", "verify", "/lib/systemd/system/sendguardd.service"])
        if r.returncode or (r.stdout + r.stderr).strip():
            p.append(f"systemd-analyze verify: {(r.stdout + r.stderr).strip()[:400]}")
        conf = run(["dpkg-query", "-W", "-f=${Conffiles}", "sendguard"]).stdout
        listed = sorted(line.split()[0] for line in conf.strip().splitlines())
        if listed != sorted(CONFFILES):
            p.append(f"conffiles {listed}, want {sorted(CONFFILES)}")
        res.report("deb_apt_install_and_run", p)

        # --- remove, purge -------------------------------------------------------------
        p = []
        r = run(APT + ["remove", "sendguard"])
        if r.returncode:
            p.append(f"apt-get remove: {r.returncode}: {(r.stdout + r.stderr).strip()[-400:]}")
        for f in FILES:
            if os.path.exists(f):
                p.append(f"{f} still there after remove")
        if dpkg_status() != "deinstall ok config-files":
            p.append(f"after remove: dpkg status {dpkg_status()!r}")
        for f in CONFFILES:
            if not os.path.exists(f):
                p.append(f"conffile {f} gone after remove (only purge removes it)")
        res.report("deb_apt_remove_keeps_conffiles", p)
    finally:
        p = []
        if dpkg_status() != "not-installed":
            r = run(APT + ["purge", "sendguard"])
            if r.returncode:
                p.append(f"apt-get purge: {r.returncode}: {(r.stdout + r.stderr).strip()[-400:]}")
        if dpkg_status() != "not-installed":
            p.append(f"after purge: dpkg status {dpkg_status()!r}")
        for f in FILES + CONFFILES + ["/etc/sendguard", "/var/log/sendguard",
                                      "/etc/systemd/system/multi-user.target.wants/"
                                      "sendguardd.service"]:
            if os.path.lexists(f):
                p.append(f"{f} left after purge")
        res.report("deb_apt_purge_leaves_nothing", p)
    return finish(res)


if __name__ == "__main__":
    sys.exit(main())
