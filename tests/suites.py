#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Run sendguard's test suites one after the other, every one whatever the others did.

    /usr/bin/python3 tests/suites.py --build build [--only NAME,...] [--kernels LIST|none]

Each suite prints its own tests and ends with `N passed, N failed`; a suite that fails,
crashes or prints no such line counts as failed and the next one runs anyway. The end is
a table of the suites and one line `N passed, N failed` summing them; exit status 1 if
any suite failed. The suites that need root (integration, enforce, persist, control,
cli_control, sandbox, metrics, remote_syslog, service, deb, kernels) run as root, and
always with CI=true, where a missing
privilege is a failure; otherwise they are skipped, saying why.
"""

import argparse
import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable


def suites(build, kernels):
    """(name, argv, needs_root) of every suite, in the order they run."""
    integ = os.path.join(ROOT, "tests", "integration")
    out = [
        # the unit tests built with ASan and UBSan (make's $(OUTPUT)/san/)
        ("unit", [PY, os.path.join(ROOT, "tests", "run_unit.py")] +
         sorted(glob.glob(os.path.join(build, "san", "tests", "test_*"))), False),
        ("cli", [PY, os.path.join(ROOT, "tests", "cli", "run.py"), "--build", build], False),
        ("fuzz", ["make", "--no-print-directory", "-C", ROOT, "OUTPUT=" + build, "fuzz-short"],
         False),
    ]
    for name in ("run", "enforce", "persist", "control", "cli_control", "sandbox", "metrics",
                 "flows", "remote_syslog", "service"):
        out.append(("integration" if name == "run" else name,
                    [PY, os.path.join(integ, name + ".py"), "--build", build], True))
    pkg = os.path.join(ROOT, "tests", "packaging")
    out.append(("install", [PY, os.path.join(pkg, "install.py"), "--build", build], False))
    out.append(("deb", [PY, os.path.join(pkg, "deb.py"), "--build", build], True))
    if kernels != "none":
        out.append(("kernels", [PY, os.path.join(ROOT, "tests", "kernels", "run.py"),
                                "--build", build, "--kernels", kernels], True))
    return out


COUNT_RE = re.compile(r"^(\d+) passed, (\d+) failed")


def run(name, argv):
    """Run one suite, its output passed through; (passed, failed, note)."""
    print("=== %s: %s" % (name, " ".join(os.path.relpath(a, ROOT) if a.startswith(ROOT) else a
                                          for a in argv[:4])), flush=True)
    try:
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             errors="replace", cwd=ROOT)
    except OSError as e:
        print("cannot run: %s" % e, flush=True)
        return 0, 1, "cannot run"
    last = None
    for line in p.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        m = COUNT_RE.match(line)
        if m:
            last = (int(m.group(1)), int(m.group(2)))
    rc = p.wait()
    if last is None:
        return 0, 1, "no summary line (exit status %d)" % rc
    if rc and not last[1]:
        return last[0], 1, "exit status %d" % rc
    return last[0], last[1], ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--only", help="comma-separated suite names")
    ap.add_argument("--kernels", default="5.10,6.1,6.12",
                    help="kernels of the qemu matrix, or none")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    root = os.geteuid() == 0 or os.environ.get("CI") == "true"
    only = set(a.only.split(",")) if a.only else None
    rows = []
    for name, argv, needs_root in suites(build, a.kernels):
        if only and name not in only:
            continue
        if needs_root and not root:
            print("=== %s: skipped: needs root (run: sudo make test)" % name, flush=True)
            rows.append((name, 0, 0, "skipped: needs root"))
            continue
        rows.append((name,) + run(name, argv))
    print("=== summary", flush=True)
    width = max([len(r[0]) for r in rows] + [5])
    for name, p, f, note in rows:
        print("%-*s %5d passed, %d failed%s" % (width, name, p, f, "  (" + note + ")" if note
                                                 else ""), flush=True)
    total_p = sum(r[1] for r in rows)
    total_f = sum(r[2] for r in rows)
    print("%d passed, %d failed" % (total_p, total_f), flush=True)
    return 1 if total_f else 0


if __name__ == "__main__":
    sys.exit(main())
