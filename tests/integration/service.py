#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""sendguardd as its systemd unit runs it, without systemd as PID 1:

- Type=notify: with $NOTIFY_SOCKET (a path, or "@name" in the abstract
  namespace) the daemon sends READY=1 with its MAINPID once it traces,
  RELOADING=1 then READY=1 around a SIGHUP reload (ExecReload), STOPPING=1 on
  SIGTERM;
- the unit's restrictions: run with exactly the unit's CapabilityBoundingSet,
  NoNewPrivileges and UMask (setpriv), in a mount namespace where every mount
  is read-only but the paths it may write (ProtectSystem=strict with
  ReadWritePaths, and with it read-only /sys and cgroupfs as
  ProtectKernelTunables and ProtectControlGroups make them), on the options of
  the packaged options file, it still loads, traces, enforces a deny rule with
  the cgroup hooks, resolves the executable of another user's process,
  answers the control socket and writes its event file with mode 0600;
- without -f: the starting process exits 0 once the daemon is ready (or with
  its exit status when it fails), and the detached daemon never traces its own
  sends (with -o syslog each record is a send: tracing them fed itself).

Needs root, setpriv and unshare (util-linux). One line per test, then
`N passed, N failed`; exit 1 on failure.
"""
import os
import shlex
import signal
import socket
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import harness  # noqa: E402  (tests/integration/harness.py)
from control import Conn, Daemon, write_policy  # noqa: E402
import private_dirs  # noqa: E402  (tests/integration/private_dirs.py)
from fleet import (begin, finish, read_records, udp_send, unit_settings,  # noqa: E402
                   wait_for)

PORT = 30000 + (os.getpid() * 23) % 20000

# Run "$@" with every mount read-only except the directories named in $SG_RW
# (what systemd's ProtectSystem=strict with ReadWritePaths= does, /sys and
# cgroupfs included); exits 99 if a write elsewhere still succeeds.
READ_ONLY = r"""set -e
mount --make-rprivate /
for d in $SG_RW; do mount --bind "$d" "$d"; done
for m in $(awk '{print $2}' /proc/self/mounts | sort -u); do
  case "$m" in /proc|/proc/*|/dev|/dev/*) continue;; esac
  mount -o remount,bind,ro "$m" 2>/dev/null || true
done
for d in $SG_RW; do mount -o remount,bind,rw "$d"; done
if touch /usr/.sendguard-rw-test 2>/dev/null; then rm -f /usr/.sendguard-rw-test; exit 99; fi
if mkdir /sys/fs/cgroup/sendguard-rw-test 2>/dev/null; then
  rmdir /sys/fs/cgroup/sendguard-rw-test; exit 99
fi
exec "$@"
"""


class Notify:
    """A NOTIFY_SOCKET to listen on, as the service manager does."""

    def __init__(self, work, abstract):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = f"sendguard-test-notify-{os.getpid()}"
            self.s.bind("\0" + name)
            self.env = "@" + name
        else:
            path = os.path.join(work, "notify.sock")
            self.s.bind(path)
            self.env = path
        self.s.settimeout(0.2)

    def messages(self, timeout):
        out, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                out.append(self.s.recv(4096).decode())
            except socket.timeout:
                if out:
                    break
        return out

    def wait(self, want, timeout=10):
        """Messages until one holding the line want."""
        got, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            got += self.messages(0.5)
            if any(want in m.split("\n") for m in got):
                return got
        return got


def test_notify(res, build, work, pol, abstract):
    name = "service_sd_notify_" + ("abstract" if abstract else "path")
    n = Notify(work, abstract)
    sock = os.path.join(work, f"ctl-{int(abstract)}.sock")
    old = os.environ.get("NOTIFY_SOCKET")
    os.environ["NOTIFY_SOCKET"] = n.env
    try:
        d = Daemon(os.path.join(build, "sendguardd"), work, pol, sock)
        why = d.start()
    finally:
        if old is None:
            os.environ.pop("NOTIFY_SOCKET", None)
        else:
            os.environ["NOTIFY_SOCKET"] = old
    if why:
        res.report(name, [why])
        return
    p = []
    got = n.wait("READY=1")
    if f"READY=1\nMAINPID={d.proc.pid}" not in got:
        p.append(f"at start: {got}, want READY=1 and MAINPID={d.proc.pid}")
    d.proc.send_signal(signal.SIGHUP)
    got = n.wait("READY=1")
    if got[:1] != ["RELOADING=1"] or "READY=1" not in got:
        p.append(f"after SIGHUP: {got}, want RELOADING=1 then READY=1")
    d.stop()
    got = n.wait("STOPPING=1", 3)
    if "STOPPING=1" not in got:
        p.append(f"at SIGTERM: {got}, want STOPPING=1")
    if d.proc.returncode != 0:
        p.append(f"exit {d.proc.returncode}")
    n.s.close()
    res.report(name, p)


def test_unit_restrictions(res, build, work):
    name = "service_runs_within_the_units_capabilities"
    u = unit_settings(os.path.join(ROOT, "sendguardd.service.in"))
    caps = u["CapabilityBoundingSet"].split()
    bset = "-all," + ",".join("+" + c[4:].lower() for c in caps)
    umask = int(u["UMask"], 8)
    # The options of the packaged options file, paths moved into this test's directory.
    default = os.path.join(ROOT, "packaging", "sendguard.default.in")
    opts = subprocess.run(["sh", "-c", '. "$1" && printf %s "$SENDGUARDD_OPTS"', "sh", default],
                          capture_output=True, text=True).stdout
    events = os.path.join(work, "log", "events.jsonl")
    pol = os.path.join(work, "deny.json")
    write_policy(pol, {"name": "service-test", "default": "allow", "rules": [
        {"name": "no-port", "action": "deny",
         "match": {"protocol": ["udp"], "dst": [f"127.0.0.1:{PORT}"]}}]})
    argv = []
    for a in shlex.split(opts):
        a = a.replace("@SYSCONFDIR@/sendguard/observe.json", pol)
        a = a.replace("/var/log/sendguard/events.jsonl", events)
        argv.append(a)
    if "-p" not in argv or f"file:{events}" not in argv:
        res.report(name, [f"unexpected SENDGUARDD_OPTS in the options file: {opts!r}"])
        return
    os.makedirs(os.path.dirname(events), mode=0o750, exist_ok=True)
    sock = os.path.join(work, "run", "control.sock")
    script = os.path.join(work, "read-only.sh")
    with open(script, "w") as f:
        f.write(READ_ONLY)
    os.environ["SG_RW"] = f"{work} /sys/fs/bpf"
    cmd = ["unshare", "--mount", "sh", script,
           "setpriv", f"--bounding-set={bset}", "--inh-caps=-all", "--no-new-privs",
           "sh", "-c", f"umask {umask:04o} && exec \"$@\"", "sh",
           os.path.join(build, "sendguardd"), "-f", "--control", sock, *private_dirs.ARGS,
           "--stats-interval", "0"] + argv
    d = Daemon(os.path.join(build, "sendguardd"), work, pol, sock)
    d.args = cmd
    why = d.start()
    del os.environ["SG_RW"]
    if why:
        res.report(name, [why, "command: " + " ".join(cmd)])
        return
    p = []
    try:
        if not any("enforcing: cgroup hooks" in line for line in d.log):
            p.append("cgroup hooks not attached: " + " | ".join(d.log[-6:]))
        if udp_send(PORT, 3) != 3:
            p.append("sends to the denied port were not refused with EPERM")
        other = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3",
             "-c", "import os,socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);"
                   f"s.sendto(b'x',('127.0.0.1',{PORT + 1}));print(os.getpid())"],
            capture_output=True, text=True, timeout=30)
        other_pid = int(other.stdout.strip() or 0)
        try:
            c = Conn(sock)
            r = c.ask({"cmd": "status"})
            c.close()
            if not r.get("ok"):
                p.append(f"control status: {r}")
        except OSError as e:
            p.append(f"control socket: {e}")

        def seen():
            recs, _ = read_records(events)
            return [r for r in recs if r.get("type") == "send" and r["proc"]["pid"] == other_pid]
        mine = wait_for(seen, 5)
        if not mine:
            p.append("no event of the other user's send")
        elif mine[0]["proc"]["uid"] != 65534 or not (mine[0]["proc"]["exe"] or "").startswith(
                "/usr/bin/python3"):
            p.append(f"other user's event: uid {mine[0]['proc']['uid']} exe "
                     f"{mine[0]['proc']['exe']} (CAP_SYS_PTRACE resolves it)")
        recs, _ = read_records(events)
        denied = [r for r in recs if r.get("type") == "send" and
                  (r.get("dst") or {}).get("port") == PORT]
        if len(denied) != 3 or any(r["policy"]["enforced_by"] != "cgroup" or
                                   r["errno"] != "EPERM" for r in denied):
            p.append(f"{len(denied)} denied events, want 3 enforced by cgroup with EPERM")
        mode = stat.S_IMODE(os.stat(events).st_mode)
        if mode & ~(0o777 & ~umask):
            p.append(f"event file mode {oct(mode)} under UMask {u['UMask']}")
    finally:
        d.stop()
    if d.proc.returncode != 0:
        p.append(f"exit {d.proc.returncode}: " + " | ".join(d.log[-3:]))
    res.report(name, p)


def test_background(res, build, work):
    name = "service_background_daemon_does_not_trace_itself"
    p = []
    sock = os.path.join(work, "bg.sock")
    events = os.path.join(work, "bg.jsonl")
    exe = os.path.join(build, "sendguardd")
    r = subprocess.run([exe, "-p", os.path.join(work, "no-such-policy.json"), "--control",
                        "none", *private_dirs.ARGS], capture_output=True, text=True, timeout=60)
    if r.returncode != 2 or "cannot open" not in r.stderr:
        p.append(f"a failing background start: exit {r.returncode} {r.stderr.strip()[-200:]}")
    r = subprocess.run([exe, "--control", sock, *private_dirs.ARGS, "-o", "file:" + events,
                        "-o", "syslog", "--stats-interval", "1"], capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0 or "ready:" not in r.stderr:
        res.report(name, p + [f"background start: exit {r.returncode} {r.stderr[-300:]}"])
        return
    pid = 0
    try:
        c = Conn(sock)
        pid = c.ask({"cmd": "status"})["daemon"]["pid"]
        c.close()
        udp_send(PORT + 2, 3)
        time.sleep(1.5)
        recs, probs = read_records(events)
        p += probs
        own = sum(1 for r in recs if r.get("type") == "send" and r["proc"]["pid"] == pid)
        mine = sum(1 for r in recs if r.get("type") == "send" and
                   (r.get("dst") or {}).get("port") == PORT + 2)
        if own:
            p.append(f"{own} events of the daemon's own sends ({len(recs)} records)")
        if mine != 3:
            p.append(f"{mine} of 3 events of this test's sends")
    except (OSError, KeyError, ValueError) as e:
        p.append(f"control socket of the background daemon: {e}")
    finally:
        if pid:
            os.kill(pid, signal.SIGTERM)
            if not wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 10):
                p.append("the background daemon did not exit on SIGTERM")
                os.kill(pid, signal.SIGKILL)
    res.report(name, p)


suite = harness.Suite(__doc__)


@suite.test("service_sd_notify_path")
def notify_path(res, ctx):
    test_notify(res, ctx.build, ctx.work, ctx.pol, abstract=False)


@suite.test("service_sd_notify_abstract")
def notify_abstract(res, ctx):
    test_notify(res, ctx.build, ctx.work, ctx.pol, abstract=True)


@suite.test("service_runs_within_the_units_capabilities")
def unit_restrictions(res, ctx):
    test_unit_restrictions(res, ctx.build, ctx.work)


@suite.test("service_background_daemon_does_not_trace_itself")
def background(res, ctx):
    test_background(res, ctx.build, ctx.work)


def main():
    build, res, work = begin(suite, "service", ["setpriv", "unshare"])
    if not work:
        return finish(res)
    ctx = suite
    ctx.work = work
    ctx.pol = os.path.join(work, "observe.json")
    write_policy(ctx.pol, {"name": "observe", "default": "allow", "rules": []})
    suite.run(ctx)
    return finish(res, work)


if __name__ == "__main__":
    sys.exit(main())
