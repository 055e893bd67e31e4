#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""make install with PREFIX, SYSCONFDIR and DESTDIR: the files and their modes,
the man pages (rendered without warnings), the policies and the daemon's
options under SYSCONFDIR, the systemd unit with its paths and hardening, which
`systemd-analyze verify` accepts; the installed programs run and the options
file's SENDGUARDD_OPTS are valid options.

Needs no root; needs systemd-analyze and man (make deps). One line per test,
then `N passed, N failed`; exit 1 on failure.
"""
import argparse
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from fleet import finish, unit_settings  # noqa: E402
from harness import Results  # noqa: E402

POLICIES = sorted(f for f in os.listdir(os.path.join(ROOT, "policies")) if f.endswith(".json"))
HARDENING = {
    "Type": "notify", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
    "ProtectHome": "read-only", "PrivateTmp": "yes", "PrivateDevices": "yes",
    "UMask": "0077", "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    "CapabilityBoundingSet": "CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SYS_PTRACE",
    "ReadWritePaths": "/sys/fs/bpf", "ExecReload": "/bin/kill -HUP $MAINPID",
    "LogsDirectory": "sendguard", "RuntimeDirectory": "sendguard",
    "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes", "RestrictNamespaces": "yes",
    "MemoryDenyWriteExecute": "yes", "LockPersonality": "yes",
}


def install(build, dest, **vars_):
    args = ["make", "-s", "-C", ROOT, f"OUTPUT={build}", "install", f"DESTDIR={dest}"]
    args += [f"{k}={v}" for k, v in vars_.items()]
    return subprocess.run(args, capture_output=True, text=True, timeout=600)


def tree(dest):
    """{relative path: mode} of the regular files under dest."""
    out = {}
    for d, _, files in os.walk(dest):
        for f in files:
            p = os.path.join(d, f)
            out[os.path.relpath(p, dest)] = stat.S_IMODE(os.lstat(p).st_mode)
    return out


def expected(prefix, sysconf, unitdir):
    p, s, u = prefix.lstrip("/"), sysconf.lstrip("/"), unitdir.lstrip("/")
    want = {f"{p}/sbin/sendguardd": 0o755, f"{p}/bin/sendguard": 0o755,
            f"{p}/share/man/man8/sendguardd.8": 0o644,
            f"{p}/share/man/man8/sendguard.8": 0o644,
            f"{p}/share/man/man5/sendguard-policy.5": 0o644,
            f"{s}/default/sendguard": 0o644, f"{u}/sendguardd.service": 0o644}
    for pol in POLICIES:
        want[f"{s}/sendguard/{pol}"] = 0o644
    return want


def check_layout(res, build, work, name, prefix, sysconf, unitdir, extra):
    dest = os.path.join(work, name)
    r = install(build, dest, PREFIX=prefix, **extra)
    if r.returncode:
        res.report(f"install_{name}", [f"make install: {r.stderr.strip()[-400:]}"])
        return None
    p = []
    got, want = tree(dest), expected(prefix, sysconf, unitdir)
    for f, mode in sorted(want.items()):
        if f not in got:
            p.append(f"{f} missing")
        elif got[f] != mode:
            p.append(f"{f}: mode {oct(got[f])}, want {oct(mode)}")
    for f in sorted(set(got) - set(want)):
        p.append(f"unexpected {f}")
    for d, _, _ in os.walk(dest):
        if stat.S_IMODE(os.stat(d).st_mode) != 0o755:
            p.append(f"directory {os.path.relpath(d, dest)}: mode "
                     f"{oct(stat.S_IMODE(os.stat(d).st_mode))}")
    unit = os.path.join(dest, unitdir.lstrip("/"), "sendguardd.service")
    if os.path.exists(unit):
        u = unit_settings(unit)
        if u.get("ExecStart") != f"{prefix}/sbin/sendguardd -f $SENDGUARDD_OPTS":
            p.append(f"ExecStart={u.get('ExecStart')}")
        if u.get("EnvironmentFile") != f"-{sysconf}/default/sendguard":
            p.append(f"EnvironmentFile={u.get('EnvironmentFile')}")
        for k, v in HARDENING.items():
            if u.get(k) != v:
                p.append(f"{k}={u.get(k)}, want {v}")
        with open(unit) as f:
            if "@" in re.sub(r"#.*", "", f.read()):
                p.append("an @PLACEHOLDER@ left in the unit")
    default = os.path.join(dest, sysconf.lstrip("/"), "default", "sendguard")
    if os.path.exists(default):
        opts = subprocess.run(["sh", "-c", '. "$1" && printf %s "$SENDGUARDD_OPTS"', "sh",
                               default], capture_output=True, text=True).stdout
        if f"-p {sysconf}/sendguard/observe.json" not in opts:
            p.append(f"SENDGUARDD_OPTS={opts!r} does not name {sysconf}/sendguard/observe.json")
    res.report(f"install_{name}_files_modes_unit", p)
    return dest


def check_programs(res, dest, prefix, sysconf):
    p = []
    bindir = os.path.join(dest, prefix.lstrip("/"))
    r = subprocess.run([os.path.join(bindir, "sbin", "sendguardd"), "--version"],
                       capture_output=True, text=True, timeout=30)
    if r.returncode or not r.stdout.startswith("sendguardd "):
        p.append(f"sendguardd --version: {r.returncode} {r.stdout!r}")
    for pol in POLICIES:
        path = os.path.join(dest, sysconf.lstrip("/"), "sendguard", pol)
        r = subprocess.run([os.path.join(bindir, "bin", "sendguard"), "policy", "check", path],
                           capture_output=True, text=True, timeout=30)
        if r.returncode:
            p.append(f"sendguard policy check {pol}: {r.returncode} {r.stderr.strip()[:200]}")
    # The options file's SENDGUARDD_OPTS, as the unit passes them, are valid options.
    default = os.path.join(dest, sysconf.lstrip("/"), "default", "sendguard")
    opts = subprocess.run(["sh", "-c", '. "$1" && printf %s "$SENDGUARDD_OPTS"', "sh", default],
                          capture_output=True, text=True).stdout
    argv = [a.replace(f"{sysconf}/sendguard", os.path.join(dest, sysconf.lstrip("/"),
                                                           "sendguard"))
            for a in shlex.split(opts)]
    r = subprocess.run([os.path.join(bindir, "sbin", "sendguardd"), "-f", "-n"] + argv,
                       capture_output=True, text=True, timeout=30)
    if r.returncode or "valid" not in r.stdout:
        p.append(f"sendguardd -f -n $SENDGUARDD_OPTS: {r.returncode} {r.stdout} {r.stderr}")
    # Man pages render without warnings.
    mandir = os.path.join(bindir, "share", "man")
    for sec, page in (("8", "sendguardd.8"), ("8", "sendguard.8"), ("5", "sendguard-policy.5")):
        r = subprocess.run(["man", "--warnings", "-l", os.path.join(mandir, "man" + sec, page)],
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="0"))
        if r.returncode or r.stderr.strip():
            p.append(f"man {page}: {r.returncode} {r.stderr.strip()[:300]}")
    res.report("install_programs_run_from_installed_paths", p)


def check_verify(res, dest, prefix, unitdir, work):
    """systemd-analyze verify on the installed unit; ExecStart must exist, so a copy
    points it at the DESTDIR binary, and man finds the pages under DESTDIR."""
    p = []
    unit = os.path.join(dest, unitdir.lstrip("/"), "sendguardd.service")
    copy = os.path.join(work, "verify", "sendguardd.service")
    os.makedirs(os.path.dirname(copy), exist_ok=True)
    with open(unit) as f:
        text = f.read()
    with open(copy, "w") as f:
        f.write(text.replace(f"{prefix}/sbin/sendguardd",
                             os.path.join(dest, prefix.lstrip("/"), "sbin", "sendguardd")))
    env = dict(os.environ, MANPATH=os.path.join(dest, prefix.lstrip("/"), "share", "man"))
    r = subprocess.run(["systemd-analyze", "verify", copy], capture_output=True, text=True,
                       timeout=120, env=env)
    out = (r.stdout + r.stderr).strip()
    if r.returncode or out:
        p.append(f"systemd-analyze verify: rc {r.returncode}: {out[:600]}")
    res.report("install_unit_systemd_analyze_verify", p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    res = Results()
    miss = [t for t in ("systemd-analyze", "man", "make") if not shutil.which(t)]
    if miss:
        why = "missing " + ", ".join(miss) + " (make deps installs them)"
        if os.environ.get("CI") == "true":
            res.report("install", [why])
        else:
            print(f"install tests skipped: {why}")
        return finish(res)
    work = tempfile.mkdtemp(prefix="sendguard-install-")
    dest = check_layout(res, build, work, "usr", "/usr", "/etc", "/usr/lib/systemd/system", {})
    if dest:
        check_programs(res, dest, "/usr", "/etc")
        check_verify(res, dest, "/usr", "/usr/lib/systemd/system", work)
    check_layout(res, build, work, "opt", "/opt/sendguard", "/opt/sendguard/etc",
                 "/opt/sendguard/lib/systemd/system", {"SYSCONFDIR": "/opt/sendguard/etc"})
    check_layout(res, build, work, "debian_units", "/usr", "/etc", "/lib/systemd/system",
                 {"UNITDIR": "/lib/systemd/system"})
    return finish(res, work)


if __name__ == "__main__":
    sys.exit(main())
