#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""--persist lifecycle (README, "Enforcement": Lifecycle): hooks and policy outlive the daemon,
a restarted daemon adopts them (no second set of hooks, versions go on), a
reload works on adopted maps, and a daemon without --persist leaves nothing
behind. Every daemon pins in a directory of this run's own (--pin-dir, --state-dir): two
pin directories do not see each other, and the defaults are never touched. Needs root;
ends with `N passed, N failed`."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpfquery  # noqa: E402  (tests/integration/bpfquery.py)
import ctl  # noqa: E402  (tests/integration/ctl.py)
import expect  # noqa: E402  (tests/integration/expect.py: the schema validator)
import harness  # noqa: E402  (tests/integration/harness.py)
import private_dirs  # noqa: E402  (tests/integration/private_dirs.py)

# A control socket of this run's own: another daemon (a test run beside this one, or the
# host's) answering on the default path would make ours refuse to start.
CONTROL = os.path.join(tempfile.gettempdir(), f"sendguard-test-{os.getpid()}.sock")


# The pins and the state file of this run's own: with the defaults a --persist daemon of
# the host would be adopted, and its pins removed, by the daemons here.
PIN_DIR = private_dirs.PIN_DIR
STATE_DIR = private_dirs.STATE_DIR
STATE = os.path.join(STATE_DIR, "persist.state")
PORT_A, PORT_B = 7654, 7655
HOOKS = ["sg_connect4", "sg_sendmsg4", "sg_connect6", "sg_sendmsg6"]


def hook_counts(settled=None, timeout=10.0):
    """How many sendguard programs each cgroup hook of the cgroup v2 root has. With
    settled (a predicate on the counts), wait up to timeout s for it to hold: the kernel
    may free a link it no longer holds a little later (5.10 under emulation: a second)."""
    deadline = time.monotonic() + timeout
    while True:
        hooks = bpfquery.sendguard_hooks(harness.cgroup2_mount())
        counts = {h: hooks.count(h[3:]) for h in HOOKS}
        if settled is None or settled(counts) or time.monotonic() >= deadline:
            return counts
        time.sleep(0.2)


def one_each(counts):
    return all(c == 1 for c in counts.values())


def none(counts):
    return not any(counts.values())


def send(port):
    """A UDP send from a child process: (pid, errno name or None)."""
    code = ("import socket,os,json\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            "e=None\n"
            f"try: s.sendto(b'x',('127.0.0.1',{port}))\n"
            "except OSError as x: e=x.errno\n"
            "print(json.dumps([os.getpid(),e]))\n"
            "import time; time.sleep(0.3)\n")
    out = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                         timeout=20).stdout
    pid, err = json.loads(out)
    return pid, (None if err is None else os.strerror(err))


class Daemon(harness.Daemon):
    """A daemon started at once, events to WORKDIR/NAME.jsonl. The pinned cgroup hooks are
    what these tests follow: BPF-LSM, where the kernel has it, would judge the sends first
    (enforce.py tests it), so it is off unless lsm."""

    def __init__(self, build, workdir, name, args, lsm=False, pins=PIN_DIR, state=STATE_DIR,
                 control=CONTROL):
        super().__init__(os.path.join(build, "sendguardd"),
                         ["--stats-interval", "3600", *([] if lsm else ["--no-lsm"]), *args],
                         events=os.path.join(workdir, name + ".jsonl"), control=control,
                         dirs=["--pin-dir", pins, "--state-dir", state])
        self.spawn()

    def ready(self):
        return self.wait_ready() is None

    def records(self):
        return super().records(strict=True)


suite = harness.Suite(__doc__)


def event_of(recs, pid):
    ev = [r for r in recs if r.get("type") == "send" and r["proc"]["pid"] == pid]
    return ev[0] if ev else None


def policy(path, name, port):
    with open(path, "w") as f:
        json.dump({"name": name, "default": "allow", "rules": [
            {"name": f"deny-{port}", "action": "deny",
             "match": {"dst": [f"127.0.0.1:{port}"]}}]}, f)


SEND_FLAGS = ("import socket,os,json\n"
              "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
              "e=None\n"
              "try: s.sendto(b'x',socket.MSG_DONTWAIT,('127.0.0.1',%d))\n"
              "except OSError as x: e=x.errno\n"
              "print(json.dumps([os.getpid(),e]))\n")


def send_flags(port, pid=None):
    """A MSG_DONTWAIT datagram from a child, with pid `pid` if given (allocated through
    /proc/sys/kernel/ns_last_pid, retried while other processes take it first):
    (pid, errno name or None), or (None, why)."""
    for _ in range(200):
        if pid is not None:
            with open("/proc/sys/kernel/ns_last_pid", "w") as f:
                f.write(str(pid - 1))
        p = subprocess.Popen([sys.executable, "-c", SEND_FLAGS % port], stdout=subprocess.PIPE,
                             text=True)
        if pid is not None and p.pid != pid:
            p.kill()
            p.wait()
            continue
        got, err = json.loads(p.communicate(timeout=60)[0])
        return got, (None if err is None else os.strerror(err))
    return None, f"could not get pid {pid}"


@suite.test("persist_lsm")
def test_lsm(res, ctx):
    """--persist with BPF-LSM: its link is pinned and keeps enforcing a rule only it can
    see after the daemon exits, exempting no process that gets the daemon's pid; a
    restarted daemon replaces it (one LSM program, no gap); without --persist it goes."""
    build, work = ctx.build, ctx.work
    name = "persist_lsm"
    port = 7657
    pol = os.path.join(work, "lsm.json")
    with open(pol, "w") as f:
        json.dump({"name": "lsm-flags", "default": "allow", "rules": [
            {"name": "deny-dontwait", "action": "deny",
             "match": {"flags_any": ["MSG_DONTWAIT"], "port": [port]}}]}, f)
    d = Daemon(build, work, "lsm1", ["--persist", "-p", pol], lsm=True)
    if not d.ready():
        res.report(name, [f"daemon not ready: {d.err!r}"])
        return
    old_pid = d.proc.pid
    d.stop()
    if "BPF-LSM socket_sendmsg unavailable" in d.err:
        why = "BPF-LSM not available here"
        if os.environ.get("SENDGUARD_EXPECT_LSM") == "1":
            res.report(name, [why + " (SENDGUARD_EXPECT_LSM=1: this kernel must have it)"])
        else:
            print(f"skip {name}: {why}", flush=True)
        return
    p = []
    if not os.path.exists(os.path.join(PIN_DIR, "link_lsm")):
        p.append("no link_lsm pinned after a --persist exit")
    _, err = send_flags(port)
    if err != os.strerror(1):
        p.append(f"MSG_DONTWAIT send after exit: {err}, want EPERM (BPF-LSM pinned)")
    got, err = send_flags(port, pid=old_pid)
    if got is None:
        p.append(err)
    elif err != os.strerror(1):
        p.append(f"send from pid {old_pid}, the exited daemon's: {err}, want EPERM")
    d = Daemon(build, work, "lsm2", ["--persist", "-p", pol], lsm=True)
    if not d.ready():
        res.report(name, p + [f"restart not ready: {d.err!r}"])
        return
    progs = subprocess.run(["bpftool", "prog", "show"], capture_output=True, text=True).stdout
    n = len(re.findall(r"\blsm\s+name sg_lsm_sendmsg", progs))
    if n != 1:
        p.append(f"{n} sendguard LSM programs loaded after the restart, want 1")
    if "BPF-LSM link of an earlier --persist run replaced" not in d.err:
        p.append("the restart does not say it replaced the pinned LSM link")
    _, err = send_flags(port)
    if err != os.strerror(1):
        p.append(f"MSG_DONTWAIT send after the restart: {err}, want EPERM")
    d.stop()
    d = Daemon(build, work, "lsm3", ["-p", pol], lsm=True)
    if not d.ready():
        res.report(name, p + [f"third daemon not ready: {d.err!r}"])
        return
    d.stop()
    if os.path.exists(os.path.join(PIN_DIR, "link_lsm")):
        p.append("link_lsm still pinned after a run without --persist")
    _, err = send_flags(port)
    if err is not None:
        p.append(f"MSG_DONTWAIT send after a run without --persist: {err}, want success")
    res.report(name, p)


def connect_refused(port):
    """A TCP connect from a child process: (pid, errno name or None)."""
    code = ("import socket,os,json\n"
            "s=socket.socket(); s.settimeout(2); e=None\n"
            f"try: s.connect(('127.0.0.1',{port}))\n"
            "except OSError as x: e=x.errno\n"
            "print(json.dumps([os.getpid(),e]))\n")
    pid, err = json.loads(subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                         text=True, timeout=20).stdout)
    return pid, (None if err is None else os.strerror(err))


@suite.test("persist_gap_after_kill", "persist_gap_after_clean_exit")
def gap_tests(res, ctx):
    """After kill -9 of a --persist daemon, the next daemon's stream starts with a gap record:
    the time and seq of the last record the killed one wrote (from its state file), that it
    did not exit cleanly, and the records queued meanwhile in the pinned ring (a connect the
    hooks refused while no daemon ran), which follow. After a clean --persist exit, the same
    with "clean". The state file is root's, 0600, and never followed through a symlink."""
    build, work, pa, validator = ctx.build, ctx.work, ctx.pa, ctx.validator
    private_dirs.remove(PIN_DIR)
    p = []
    policy(pa, "gap-a", PORT_A)
    d = Daemon(build, work, "gap1", ["--persist", "-p", pa])
    if not d.ready():
        res.report("persist_gap_after_kill", [f"daemon not ready: {d.err!r}"])
        return
    try:
        send(PORT_B)
        time.sleep(1.0)  # written out
        st = os.lstat(STATE) if os.path.lexists(STATE) else None
        if not st or not os.path.isfile(STATE) or os.path.islink(STATE) or st.st_uid != 0 or \
                (st.st_mode & 0o777) != 0o600:
            p.append(f"{STATE}: {st}, want a regular file of root's with mode 0600")
    finally:
        d.proc.kill()  # kill -9
        d.proc.wait()
    with open(d.path, "rb") as f:  # a kill may cut the last line
        first = [json.loads(line) for line in f if line.endswith(b"\n")]
    cpid, cerr = connect_refused(PORT_A)  # no daemon: the hooks refuse and queue an event
    if cerr != os.strerror(1):
        p.append(f"connect to the denied port with no daemon running: {cerr or 'succeeded'}")
    d = Daemon(build, work, "gap2", ["--persist", "-p", pa])
    ok = d.ready()
    if ok:
        time.sleep(0.6)
    d.stop()
    if not ok:
        res.report("persist_gap_after_kill", p + [f"daemon not ready: {d.err!r}"])
        return
    second = d.records()
    gap = second[0] if second else {}
    if gap.get("type") != "gap" or gap.get("seq") != 1:
        p.append(f"the restarted daemon's first record: {str(gap)[:200]}")
    else:
        by_seq = {r["seq"]: r for r in first}
        last = by_seq.get(gap["previous_seq"])
        if gap["previous_exit"] != "unclean" or gap["untraced"] is not True:
            p.append(f"gap record: {gap}, want previous_exit unclean")
        if not last or last["ts"] != gap["since"]:
            p.append(f"gap record: since {gap['since']} seq {gap['previous_seq']}; the killed "
                     f"daemon's record of that seq: {last}")
        if first and gap["previous_seq"] > first[-1]["seq"]:
            p.append(f"previous_seq {gap['previous_seq']} beyond the last record written "
                     f"({first[-1]['seq']})")
        if gap["queued"] < 1:
            p.append(f"gap record: queued {gap['queued']}, want the refused connect")
        conn = [r for r in second if r.get("type") == "connect" and r["proc"]["pid"] == cpid]
        if not conn or conn[0]["seq"] <= 1:
            p.append("the connect refused while no daemon ran is not in the stream after "
                     "the gap record")
        if validator:
            p += validator.check_all([gap])
    res.report("persist_gap_after_kill", p)

    # A clean --persist exit, then a daemon without --persist: a gap record saying "clean".
    p = []
    d = Daemon(build, work, "gap3", ["-p", pa])
    ok = d.ready()
    d.stop()
    if not ok:
        res.report("persist_gap_after_clean_exit", [f"daemon not ready: {d.err!r}"])
        return
    third = d.records()
    gap = third[0] if third else {}
    if (gap.get("type"), gap.get("previous_exit"), gap.get("previous_seq")) != \
            ("gap", "clean", second[-1]["seq"] if second else None):
        p.append(f"first record after a clean --persist exit: {str(gap)[:200]}; the previous "
                 f"run's last seq {second[-1]['seq'] if second else None}")
    if os.path.exists(STATE) or os.path.exists(PIN_DIR):
        p.append("the state file or the pins are left after a daemon without --persist")
    # A symlink planted at the state file's path is not written through.
    victim = os.path.join(work, "victim")
    with open(victim, "w") as f:
        f.write("untouched\n")
    os.makedirs(os.path.dirname(STATE), exist_ok=True)
    if os.path.lexists(STATE):
        os.unlink(STATE)
    os.symlink(victim, STATE)
    d = Daemon(build, work, "gap4", ["--persist", "-p", pa])
    ok = d.ready()
    if ok:
        send(PORT_B)
        time.sleep(0.6)
    d.stop()
    with open(victim) as f:
        if f.read() != "untouched\n":
            p.append("the daemon wrote its state through a symlink")
    if ok and "persist.state: a symbolic link" not in d.err:
        p.append(f"the refused state file is not logged: {d.err[-300:]!r}")
    os.unlink(STATE)
    res.report("persist_gap_after_clean_exit", p)


def default_dirs():
    """What the default pin directory holds and the default state file is ((name, inode),
    None when not there), for the tests to compare before and after. Only what a daemon
    here could adopt, write or remove: a daemon of the host may have its control socket
    in the state directory come and go meanwhile."""
    def listing(d):
        try:
            return sorted((n, os.lstat(os.path.join(d, n)).st_ino) for n in os.listdir(d))
        except FileNotFoundError:
            return None
    state = os.path.join(private_dirs.DEFAULT_STATE_DIR, "persist.state")
    return {private_dirs.DEFAULT_PIN_DIR: listing(private_dirs.DEFAULT_PIN_DIR),
            state: os.lstat(state).st_ino if os.path.lexists(state) else None}


def pins(d):
    """The pins in d (name -> inode); {} when d is not there."""
    if not os.path.isdir(d):
        return {}
    return {n: os.lstat(os.path.join(d, n)).st_ino for n in os.listdir(d)}


@suite.test("persist_pin_dirs_isolated", "persist_pin_dir_refused")
def test_pin_dirs(res, ctx):
    """--pin-dir: a --persist daemon pins in its directory A; a second daemon on directory B
    starts beside it, enforces its own policy, exits and takes nothing of A's with it: it
    adopts none of A's pins and removes none, and the first daemon still answers and
    enforces, as do its pins once it has exited too. A pin directory that is not on a bpffs,
    or is a symbolic link, is refused."""
    build, work = ctx.build, ctx.work
    private_dirs.remove(PIN_DIR)
    name = "persist_pin_dirs_isolated"
    pins_a, pins_b = private_dirs.pin_dir("-a"), private_dirs.pin_dir("-b")
    ctl_a, ctl_b = os.path.join(work, "a.sock"), os.path.join(work, "b.sock")
    pa, pb = os.path.join(work, "iso-a.json"), os.path.join(work, "iso-b.json")
    policy(pa, "iso-a", PORT_A)
    policy(pb, "iso-b", PORT_B)
    p = []
    a = Daemon(build, work, "iso-a", ["--persist", "-p", pa], pins=pins_a,
               state=private_dirs.state_dir("-a"), control=ctl_a)
    if not a.ready():
        res.report(name, [f"daemon on A not ready: {a.err!r}"])
        a.stop()
        return
    try:
        before = pins(pins_a)
        if "link_sendmsg4" not in before or "map_sg_pol_active" not in before:
            p.append(f"pins in A while its --persist daemon runs: {sorted(before)}")
        b = Daemon(build, work, "iso-b", ["-p", pb], pins=pins_b,
                   state=private_dirs.state_dir("-b"), control=ctl_b)
        if not b.ready():
            p.append(f"daemon on B not ready beside A's: {b.err!r}")
        else:
            _, err = send(PORT_B)
            if err != os.strerror(1):
                p.append(f"port {PORT_B}, denied by B's policy: {err or 'succeeded'}")
        if b.stop() != 0:
            p.append(f"B's exit status {b.proc.returncode}: {b.err[-300:]!r}")
        if "adopted" in b.err:
            p.append(f"the daemon on B adopted pins: {b.err!r}")
        if os.path.lexists(pins_b):
            p.append(f"B left {pins_b} behind (it ran without --persist)")
        after = pins(pins_a)
        if after != before:
            p.append(f"A's pins changed while B ran: {sorted(before)} -> {sorted(after)}")
        _, err = send(PORT_A)
        if err != os.strerror(1):
            p.append(f"port {PORT_A}, denied by A's policy, after B exited: "
                     f"{err or 'succeeded'}")
        _, err = send(PORT_B)
        if err is not None:
            p.append(f"port {PORT_B} after B exited: {err}, want success")
        try:
            st = ctl.request(ctl_a, {"cmd": "status"})
            if not st.get("ok") or st["daemon"]["pid"] != a.proc.pid:
                p.append(f"A's status after B exited: {str(st)[:200]}")
        except (OSError, ValueError, KeyError) as e:
            p.append(f"A's control socket after B exited: {e!r}")
    finally:
        rc = a.stop()
    if rc != 0:
        p.append(f"A's exit status {rc}")
    _, err = send(PORT_A)
    if err != os.strerror(1):
        p.append(f"port {PORT_A} after A's --persist exit: {err or 'succeeded'}, want EPERM")
    private_dirs.remove(pins_a)
    counts = hook_counts(none)
    if any(counts.values()):
        p.append(f"hooks attached once A's pins are removed: {counts}")
    res.report(name, p)

    # Only a directory on a bpffs, and never through a symbolic link.
    p = []
    for what, d in (("not on a bpffs", os.path.join(work, "pins")),
                    ("a symbolic link", private_dirs.pin_dir("-link"))):
        if what == "a symbolic link":
            os.mkdir(pins_a, 0o700)
            os.symlink(pins_a, d)
        try:
            r = subprocess.run([os.path.join(build, "sendguardd"), "-f", "--control", "none",
                                "-o", "file:" + os.path.join(work, "refused.jsonl"),
                                "--persist", "--pin-dir", d, "--state-dir",
                                private_dirs.state_dir("-a"), "-p", pa],
                               stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=120)
        finally:
            if what == "a symbolic link":
                os.unlink(d)
        want = "not on a bpf filesystem" if what == "not on a bpffs" else "a symbolic link"
        if r.returncode != 1 or f"pin directory {d}: {want}" not in r.stderr:
            p.append(f"pin directory {what}: exit {r.returncode}, {r.stderr[-300:]!r}")
        if what == "not on a bpffs" and os.path.lexists(d):
            p.append(f"{d} made although not on a bpffs")
        if what == "a symbolic link" and os.listdir(pins_a):
            p.append(f"pinned through a symbolic link: {os.listdir(pins_a)}")
    private_dirs.remove(pins_a)
    res.report("persist_pin_dir_refused", p)


# 1. --persist: the hooks and the policy stay after a clean exit.
@suite.test("persist_exit_keeps_hooks")
def persist_exit_keeps_hooks(res, ctx):
    build, work, pa = ctx.build, ctx.work, ctx.pa
    p = []
    d = Daemon(build, work, "one", ["--persist", "-p", pa])
    if not d.ready():
        raise harness.Abort("persist_exit_keeps_hooks", [f"daemon not ready: {d.err!r}"])
    if d.stop() != 0:
        p.append(f"exit status after SIGTERM: {d.proc.returncode}")
    if not os.path.exists(os.path.join(PIN_DIR, "link_sendmsg4")):
        p.append(f"no pinned link under {PIN_DIR}")
    _, err = send(PORT_A)
    if err != os.strerror(1):
        p.append(f"send to denied port {PORT_A} after exit: {err or 'succeeded'}, "
                 "expected EPERM")
    counts = hook_counts(one_each)
    if any(c != 1 for c in counts.values()):
        p.append(f"hooks attached after exit: {counts}, expected one each")
    res.report("persist_exit_keeps_hooks", p)


# 2. A restarted --persist daemon adopts: no second set, versions go on.
@suite.test("persist_restart_adopts")
def persist_restart_adopts(res, ctx):
    build, work, pa, pb = ctx.build, ctx.work, ctx.pa, ctx.pb
    p = []
    d = Daemon(build, work, "two", ["--persist", "-p", pb])
    if not d.ready():
        raise harness.Abort("persist_restart_adopts", [f"daemon not ready: {d.err!r}"])
    counts = hook_counts(one_each)
    if any(c != 1 for c in counts.values()):
        p.append(f"hooks after restart: {counts}, expected one each (no duplicates)")
    if "adopted" not in d.err:
        p.append(f"the log does not say the hooks were adopted: {d.err!r}")
    pid_a, err_a = send(PORT_A)
    pid_b, err_b = send(PORT_B)
    if err_a is not None:
        p.append(f"port {PORT_A} (allowed by the new policy): {err_a}")
    if err_b != os.strerror(1):
        p.append(f"port {PORT_B} (denied by the new policy): {err_b or 'succeeded'}")

    # 3. Reload on adopted maps.
    shutil.copy(pa, pb)
    d.signal(signal.SIGHUP)
    time.sleep(1.5)
    pid_c, err_c = send(PORT_A)
    if err_c != os.strerror(1):
        p.append(f"after SIGHUP, port {PORT_A}: {err_c or 'succeeded'}, expected EPERM")
    rc = d.stop()
    recs = d.records()
    loaded = [r for r in recs if r.get("type") == "policy" and r["result"] == "loaded"]
    versions = [r["version"] for r in loaded]
    if versions != [2, 3]:
        p.append(f"loaded policy versions {versions}, expected [2, 3] (1 was the "
                 "first run's)")
    ev = event_of(recs, pid_b)
    want = {"verdict": "deny", "rule": f"deny-{PORT_B}", "version": 2,
            "enforced_by": "cgroup"}
    if not ev or ev["policy"] != want or ev["errno"] != "EPERM":
        p.append(f"event of the denied send: {ev and (ev['policy'], ev['errno'])}, "
                 f"expected {want} and EPERM")
    ev = event_of(recs, pid_c)
    if not ev or ev["policy"].get("version") != 3:
        p.append(f"event after the reload: {ev and ev['policy']}, expected version 3")
    if rc != 0:
        p.append(f"exit status {rc}")
    res.report("persist_restart_adopts", p)


# 4. Without --persist, the adopting daemon leaves nothing behind.
@suite.test("no_persist_cleans_up")
def no_persist_cleans_up(res, ctx):
    build, work, pa = ctx.build, ctx.work, ctx.pa
    p = []
    d = Daemon(build, work, "three", ["-p", pa])
    if not d.ready():
        raise harness.Abort("no_persist_cleans_up", [f"daemon not ready: {d.err!r}"])
    counts = hook_counts(one_each)
    if any(c != 1 for c in counts.values()):
        p.append(f"hooks while running: {counts}, expected one each")
    if d.stop() != 0:
        p.append("exit status")
    if os.path.exists(PIN_DIR):
        p.append(f"{PIN_DIR} left behind: {os.listdir(PIN_DIR)}")
    counts = hook_counts(none)
    if any(counts.values()):
        p.append(f"hooks left attached: {counts}")
    _, err = send(PORT_A)
    if err is not None:
        p.append(f"send to {PORT_A} after exit: {err}")
    res.report("no_persist_cleans_up", p)


# 5. Enforcement across a reload under a stream of sends: each send is
# judged and enforced by one version; its event says which, and agrees
# with what happened to it.
@suite.test("enforce_reload_under_traffic")
def enforce_reload_under_traffic(res, ctx):
    build, work, pa, pb = ctx.build, ctx.work, ctx.pa, ctx.pb
    p = []
    port = 7656
    policy(pa, "stream-deny", port)
    with open(pb, "w") as f:
        json.dump({"name": "stream-allow", "default": "allow", "rules": [
            {"name": f"allow-{port}", "action": "allow",
             "match": {"dst": [f"127.0.0.1:{port}"]}}]}, f)
    live = os.path.join(work, "live.json")
    shutil.copy(pa, live)
    d = Daemon(build, work, "stream", ["-p", live])
    if not d.ready():
        raise harness.Abort("enforce_reload_under_traffic", [f"daemon not ready: {d.err!r}"])
    # The sender says when it has sent under version 1 and sends on until told to stop,
    # well after the reload (however slow the machine: make test-kernels runs in TCG).
    stop = os.path.join(work, "stop-sending")
    code = ("import socket,os,time,json,sys\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            "res=[]\nend=time.monotonic()+60\n"
            f"while time.monotonic()<end and not os.path.exists({stop!r}):\n"
            f"    try: s.sendto(b'x',('127.0.0.1',{port})); res.append(0)\n"
            "    except OSError as e: res.append(e.errno)\n"
            "    if len(res)==50: print('sending', flush=True)\n"
            "    time.sleep(0.0005)\n"
            "print(json.dumps([os.getpid(),res]))\ntime.sleep(0.3)\n")
    sender = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                              text=True)
    sender.stdout.readline()
    shutil.copy(pb, live)
    d.signal(signal.SIGHUP)
    deadline = time.monotonic() + 60
    while "policy stream-allow version 2 in force" not in d.err and \
            time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    open(stop, "w").close()
    pid, results = json.loads(sender.communicate(timeout=60)[0])
    time.sleep(0.5)
    d.stop()
    evs = [r for r in d.records() if r.get("type") == "send" and r["proc"]["pid"] == pid]
    if len(evs) != len(results):
        p.append(f"{len(results)} sends, {len(evs)} events")
    bad, last = [], 0
    for r in evs:
        pol = r["policy"]
        if pol["version"] < last:
            bad.append(f"seq {r['seq']}: version went back to {pol['version']}")
        last = max(last, pol["version"])
        if pol["version"] == 1:
            ok = (pol["verdict"] == "deny" and pol["enforced_by"] == "cgroup" and
                  r["errno"] == "EPERM" and pol["rule"] == f"deny-{port}")
        else:
            ok = (pol["version"] == 2 and pol["verdict"] == "allow" and
                  r["errno"] is None and pol["rule"] == f"allow-{port}")
        if not ok:
            bad.append(f"seq {r['seq']}: {pol} with errno {r['errno']}")
    p += bad[:5]
    seen = {r["policy"]["version"] for r in evs}
    if seen != {1, 2}:
        p.append(f"versions seen {sorted(seen)}, expected both 1 and 2")
    if results.count(1) != sum(1 for r in evs if r["errno"] == "EPERM"):
        p.append(f"{results.count(1)} sends failed with EPERM, "
                 f"{sum(1 for r in evs if r['errno'] == 'EPERM')} events say so")
    res.report("enforce_reload_under_traffic", p)


# 6. A --persist daemon whose policy cannot deny adopts the pinned hooks of an
# earlier run and detaches them (pins included): nothing runs per send.
@suite.test("persist_no_deny_detaches")
def persist_no_deny_detaches(res, ctx):
    build, work, pa, pb = ctx.build, ctx.work, ctx.pa, ctx.pb
    p = []
    policy(pa, "persist-a", PORT_A)
    d = Daemon(build, work, "four", ["--persist", "-p", pa])
    if not d.ready():
        raise harness.Abort("persist_no_deny_detaches", [f"daemon not ready: {d.err!r}"])
    d.stop()
    counts = hook_counts(one_each)
    if counts != {h: 1 for h in HOOKS}:
        p.append(f"hooks after a --persist run with a deny rule: {counts}")
    with open(pb, "w") as f:
        json.dump({"name": "allow-only", "default": "allow", "rules": []}, f)
    d = Daemon(build, work, "five", ["--persist", "-p", pb])
    if not d.ready():
        raise harness.Abort("persist_no_deny_detaches", [f"daemon not ready: {d.err!r}"])
    counts = hook_counts(none)
    if any(counts.values()):
        p.append(f"hooks attached under a policy that cannot deny: {counts}")
    _, err = send(PORT_A)
    if err is not None:
        p.append(f"send to {PORT_A} (no longer denied): {err}")
    d.stop()
    left = [n for n in (os.listdir(PIN_DIR) if os.path.exists(PIN_DIR) else [])
            if n.startswith("link_")]
    if left:
        p.append(f"link pins left: {left}")
    counts = hook_counts(none)
    if any(counts.values()):
        p.append(f"hooks attached after exit: {counts}")
    res.report("persist_no_deny_detaches", p)


def setup(suite):
    if not harness.need_root(suite.res, "persist"):
        return None
    ctx = suite
    ctx.defaults = default_dirs()
    ctx.work = work = tempfile.mkdtemp(prefix="sendguard-persist-")
    ctx.validator, _ = expect.load_validator(os.path.join(harness.ROOT, "docs",
                                                          "event.schema.json"))
    ctx.pa, ctx.pb = os.path.join(work, "a.json"), os.path.join(work, "b.json")
    policy(ctx.pa, "persist-a", PORT_A)
    policy(ctx.pb, "persist-b", PORT_B)
    return ctx


def teardown(ctx):
    private_dirs.remove(PIN_DIR)
    for tag in ("-a", "-b"):
        private_dirs.remove(private_dirs.pin_dir(tag))
    shutil.rmtree(ctx.work, ignore_errors=True)
    # None of the daemons here adopted, wrote or removed what a host's daemon uses.
    now = default_dirs()
    ctx.res.report("persist_default_dirs_untouched",
                   [] if now == ctx.defaults else
                   [f"before the run {ctx.defaults}, after it {now}"])


if __name__ == "__main__":
    sys.exit(suite.main(setup, teardown,
                        tests=[persist_exit_keeps_hooks, persist_restart_adopts,
                               no_persist_cleans_up, enforce_reload_under_traffic,
                               persist_no_deny_detaches, test_lsm,
                               # 7. The gap a restart leaves, as the restarted daemon's
                               # first record.
                               gap_tests,
                               # 8. Pin directories apart: a daemon on one leaves another's
                               # pins alone.
                               test_pin_dirs]))
