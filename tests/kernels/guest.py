#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The part of make test-kernels that runs inside each guest (tests/kernels/run.py boots it).

    guest.py --build DIR --kernel NAME --variant-tracing V --variant-hooks V --variant-lsm V
             --variant-paths V
             [--expect-lsm] [--expect-unix-hooks] [-k PATTERN]

First the facts of this kernel: the daemon starts, loads the program variant expected
here for tracing, the cgroup hooks and BPF-LSM ("none": not loaded), attaches BPF-LSM
where expected and the cgroup hooks it should. Then the integration suites, each with
its own `N passed, N failed`: every syscall, destination family and field of
tests/integration/run.py's sender scenarios and its policy verdicts, the enforcement
suite (cgroup hooks; BPF-LSM, which must enforce, not skip, with --expect-lsm), the
--persist lifecycle, and sendguard run's seccomp sandbox (sandbox.py).
Ends with `SG-GUEST-RESULT passed=N failed=M` for the host.
"""

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import ctl  # noqa: E402  (tests/integration/ctl.py)
import private_dirs  # noqa: E402  (tests/integration/private_dirs.py)

# The suites and the tests of each that depend on the kernel (the sinks, the control
# socket and the CLI behave alike everywhere and run in make test on the build host).
# persist.py runs whole (its steps build on each other), or not at all under a -k that
# does not name it.
SUITES = [
    ("run.py", r"^(send_|policy_|file_schema_seq$|flush_on_sigterm$|sigterm_exit_0$)"),
    ("enforce.py", None),
    ("persist.py", False),
    ("sandbox.py", None),
    # --flows: the counting path of the tracing programs (left out of the load without it).
    ("flows.py", r"^flows_(burst_accounting|record_fields|stats_schema|table_overflow|"
                 r"export_all_mode)$"),
]
# Extra arguments: in an emulated guest the sandbox's races and random policies run
# smaller (make test runs them whole on the build host), and the stream a policy is
# reloaded under runs longer (a reload took 12-30 s on 6.12 there); what is checked is the
# same.
SUITE_ARGS = {"sandbox.py": ["--race-sends", "4000", "--rounds", "4"],
              "run.py": ["--reload-ms", "45000"]}


class Counts:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def report(self, name, problems):
        if problems:
            self.failed += 1
            print("FAIL %s: %s" % (name, "; ".join(problems)), flush=True)
        else:
            self.passed += 1
            print("ok %s" % name, flush=True)


def check_kernel(a, counts):
    """The variants loaded, BPF-LSM and the cgroup hooks, from the daemon's status."""
    tmp = tempfile.mkdtemp(prefix="sgguest-")
    sock = os.path.join(tmp, "c.sock")
    pol = os.path.join(tmp, "policy.json")
    with open(pol, "w") as f:
        json.dump({"name": "guest", "default": "allow",
                   "rules": [{"name": "deny-port", "action": "deny",
                              "match": {"dst": ["127.0.0.1:9"]}}]}, f)
    errf = open(os.path.join(tmp, "stderr"), "w+")
    d = subprocess.Popen([os.path.join(a.build, "sendguardd"), "-f", "-v", "-p", pol,
                          "--control", sock, *private_dirs.ARGS,
                          "-o", "file:" + os.path.join(tmp, "ev.jsonl")],
                         stdout=subprocess.DEVNULL, stderr=errf)
    status = ctl.request(sock, {"cmd": "status"}) if wait_ready(d, errf) else None
    d.send_signal(signal.SIGTERM)
    try:
        rc = d.wait(60)
    except subprocess.TimeoutExpired:
        d.kill()
        rc = None
    errf.seek(0)
    log = errf.read()
    if status is None:
        counts.report("kernel_daemon_starts", ["no ready line: " + log[-2000:]])
        return
    counts.report("kernel_daemon_starts", [] if rc == 0 else ["exit status %s" % rc])
    got = (status.get("daemon") or {}).get("bpf_variants") or {}
    for what, want in (("tracing", a.variant_tracing), ("hooks", a.variant_hooks),
                       ("lsm", a.variant_lsm), ("paths", a.variant_paths)):
        want = None if want == "none" else want
        # A mismatch shows why the daemon went past the wanted variant (-v: "refused: ...";
        # -vv has the verifier's log).
        why = [ln for ln in log.splitlines() if ("%s: BPF variant" % what) in ln and
               (" refused" in ln or " skipped" in ln)]
        counts.report("kernel_variant_" + what,
                      [] if got.get(what) == want else
                      ["%s loaded variant %r, want %r%s" % (what, got.get(what), want,
                                                           "".join("; " + w for w in why))])
    enf = status.get("enforcement") or {}
    lsm = enf.get("lsm", "")
    if a.expect_lsm:
        counts.report("kernel_lsm_attached", [] if lsm == "attached" else
                      ["BPF-LSM is %r, want attached (active LSMs: %s)" % (lsm, active_lsms())])
    else:
        counts.report("kernel_lsm_unavailable", [] if lsm.startswith("unavailable") else
                      ["BPF-LSM is %r, want unavailable" % lsm])
    hooks = set(enf.get("hooks_available") or [])
    want = {"connect4", "sendmsg4", "connect6", "sendmsg6"}
    if a.expect_unix_hooks:
        want |= {"connect_unix", "sendmsg_unix"}
    counts.report("kernel_cgroup_hooks", [] if hooks == want else
                  ["hooks available %s, want %s" % (sorted(hooks), sorted(want))])
    # Every variant below the one chosen here loads when forced (tests and benchmarks force
    # them), and traces.
    order = ["btf", "core", "compat"]
    for v in order[order.index(a.variant_tracing) + 1:]:
        counts.report("kernel_forced_" + v, forced_start(a, v, tmp))


def forced_start(a, variant, tmp):
    """Problems of a daemon forced to a program variant: it must trace a send with it."""
    out = os.path.join(tmp, "forced-%s.jsonl" % variant)
    errf = open(os.path.join(tmp, "forced-%s.err" % variant), "w+")
    d = subprocess.Popen([os.path.join(a.build, "sendguardd"), "-f", "-v", "--bpf-variant",
                          variant, "--control", "none", *private_dirs.ARGS, "--no-enforce",
                          "-o", "file:" + out],
                         stdout=subprocess.DEVNULL, stderr=errf)
    ready = wait_ready(d, errf)
    if ready:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(b"forced", ("127.0.0.1", 9))
        s.close()
        time.sleep(2)
    d.send_signal(signal.SIGTERM)
    try:
        d.wait(60)
    except subprocess.TimeoutExpired:
        d.kill()
        d.wait()
    errf.seek(0)
    err = errf.read()
    if not ready:
        return ["no ready line: " + err[-1000:]]
    if d.returncode:
        return ["exit status %s: %s" % (d.returncode, err[-1000:])]
    if "tracing: BPF variant %s loaded" % variant not in err:
        return ["variant %s not loaded: %s" % (variant, err[-1000:])]
    mine = []
    for line in open(out):
        e = json.loads(line)
        if e.get("type") == "send" and (e.get("proc") or {}).get("pid") == os.getpid():
            mine.append(e)
    if len(mine) != 1 or (mine[0].get("dst") or {}).get("port") != 9 or mine[0].get("len") != 6:
        return ["want one sendto event of 6 bytes to port 9, got %s" % mine]
    return []


def wait_ready(d, errf, timeout=120):
    """Wait for the daemon's ready line in the file its stderr goes to."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and d.poll() is None:
        errf.seek(0)
        if "ready:" in errf.read():
            return True
        time.sleep(0.5)
    return False


def active_lsms():
    try:
        return open("/sys/kernel/security/lsm").read().strip()
    except OSError as e:
        return str(e)


def run_suite(a, script, pattern):
    """Run one integration suite; (passed, failed) from its last line."""
    cmd = [sys.executable, os.path.join(ROOT, "tests", "integration", script), "--build", a.build]
    cmd += SUITE_ARGS.get(script, [])
    pat = a.pattern or pattern
    if pattern is False:
        pat = None
        if a.pattern and not re.search(a.pattern, script.replace(".py", "_")):
            return 0, 0
    if pat:
        cmd += ["-k", pat]
    env = dict(os.environ)
    # Three emulated guests share the build host's cores: every wait of the suites x3.
    env["SENDGUARD_TEST_TIME_SCALE"] = "3"
    # Where a test needs a daemon but not a fresh one, it shares one (harness.py).
    env["SENDGUARD_TEST_SHARE_DAEMONS"] = "1"
    if a.expect_lsm:
        env["SENDGUARD_EXPECT_LSM"] = "1"
    # Where the time goes: every daemon start of the suite (tests/integration/harness.py).
    starts = os.path.join(tempfile.gettempdir(), "sgguest-starts-" + script)
    env["SENDGUARD_TEST_DAEMON_LOG"] = starts
    print("== %s%s" % (script, " -k " + pat if pat else ""), flush=True)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env=env)
    last = None
    for line in p.stdout:
        line = line.rstrip("\n")
        print(line, flush=True)
        m = re.match(r"^(\d+) passed, (\d+) failed", line)
        if m:
            last = (int(m.group(1)), int(m.group(2)))
    rc = p.wait()
    took = []
    try:
        with open(starts) as f:
            took = [float(line.split(" ", 1)[0]) for line in f]
    except OSError:
        pass
    print("== %s took %.0f s; %d daemon starts, %.0f s until ready (%.1f s each, at most %.1f s)"
          % (script, time.monotonic() - t0, len(took), sum(took),
             sum(took) / max(1, len(took)), max(took or [0])), flush=True)
    if last is None:
        return 0, 1
    if rc and not last[1]:
        return last[0], 1
    return last


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--variant-tracing", required=True)
    ap.add_argument("--variant-hooks", required=True)
    ap.add_argument("--variant-lsm", required=True)
    ap.add_argument("--variant-paths", required=True)
    ap.add_argument("--expect-lsm", action="store_true")
    ap.add_argument("--expect-unix-hooks", action="store_true")
    ap.add_argument("-k", dest="pattern")
    a = ap.parse_args()
    os.chdir(ROOT)
    counts = Counts()
    print("== kernel %s (%s), active LSMs: %s" % (a.kernel, os.uname().release, active_lsms()),
          flush=True)
    if not a.pattern or re.search(a.pattern, "kernel_"):
        t0 = time.monotonic()
        check_kernel(a, counts)
        print("== kernel checks took %.0f s" % (time.monotonic() - t0), flush=True)
    total_p, total_f = counts.passed, counts.failed
    for script, pattern in SUITES:
        p, f = run_suite(a, script, pattern)
        total_p += p
        total_f += f
    print("%d passed, %d failed" % (total_p, total_f), flush=True)
    print("SG-GUEST-RESULT passed=%d failed=%d" % (total_p, total_f), flush=True)
    return 1 if total_f else 0


if __name__ == "__main__":
    sys.exit(main())
