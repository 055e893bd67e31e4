#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The CLI side of the control socket (docs/control.md, sendguard(8)):
`sendguard status`, `events`, `policy load` and `policy show` against the
real daemon.

    python3 tests/integration/cli_control.py --build build [--daemon PATH] [-k REGEX]
        [--only NAME,...]

Starts DAEMON (default BUILD/sendguardd) with --control in a temporary
directory, makes sends of its own and runs BUILD/sendguard --control SOCK on
them, checking exact values. Events are always filtered by this process's
pid: the machine has other traffic.

Needs root: otherwise it says why and prints "0 passed, 0 failed" (with
CI=true that counts as a failure). Prints `ok NAME` / `FAIL NAME: details`
per check and a last line `N passed, N failed`; exit status 1 if any failed.
`-k REGEX` or `--only NAME,...` runs some checks; the policy checks follow the
loads before them (`policy show` expects what `policy load (valid)` loaded).
"""
import errno
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402  (tests/integration/harness.py)
from control import Daemon  # noqa: E402  (tests/integration/control.py)
from harness import Cli  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

BASE = 30000 + (os.getpid() * 11) % 20000  # destination ports private to this run
P_AUDIT = BASE  # rule cli-audit (audit)
P_DENY = BASE + 1  # rule cli-deny (deny, enforced by the cgroup hooks)
P_FOLLOW = BASE + 2  # no rule: allowed by the default
P_FOLLOW_TEXT = BASE + 3

EVENT_WAIT = 5.0  # the daemon drains every 250 ms; an event is in within 1 s

suite = harness.Suite(__doc__)
suite.add_argument("--daemon", help="sendguardd to run (default: BUILD/sendguardd)")


class Follower:
    """`sendguard events --follow ...` in the background, its stdout line by line."""

    def __init__(self, cli, *args):
        self.proc = subprocess.Popen([cli.path, "--control", cli.sock, "events", "--follow"] +
                                     list(args), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def line(self, timeout):
        """The next line within timeout seconds, else None."""
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def stop(self, sig):
        """Sends sig; the exit status (None if it does not exit in 5 s) and stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        return rc, self.proc.stderr.read()


def udp_send(port, data):
    """One sendto() from this process; "ok" or the errno name."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.sendto(data, ("127.0.0.1", port))
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    finally:
        s.close()


def dport(rec):
    return (rec.get("dst") or {}).get("port")


def find_send(cli, port, data):
    """
    Sends data to port and returns (record, result of the send) once `events`
    (no --follow, filtered by this pid) lists it. The daemon holds the last
    1024 records of the whole machine: when others push ours out before we
    look, send again.
    """
    me = os.getpid()
    for _ in range(4):
        result = udp_send(port, data)
        end = time.time() + EVENT_WAIT
        while time.time() < end:
            recs, _ = cli.events("--filter", f"pid={me},type=send")
            hits = [r for r in recs if dport(r) == port]
            if hits:
                return hits[-1], result
            time.sleep(0.1)
    return None, None


def expected_text(r):
    """The --format text line of an inet send record (cli/cmd_events.c)."""
    ts = r["ts"]
    line = (f"{ts[:26]}Z {r['syscall']} pid {r['proc']['pid']} ({r['proc']['comm']}) "
            f"fd {r['fd']} -> {r['dst']['addr']}:{r['dst']['port']} {r['sock']['protocol']} "
            f"{r['len']} B")
    pol = r["policy"]
    if r["ret"] >= 0:
        line += f" ret {r['ret']}"
    line += " " + pol["verdict"]
    if pol["rule"] is not None:
        line += f" (rule {pol['rule']})"
    if r["ret"] < 0:
        line += " " + r["errno"]
    if pol["enforced_by"]:
        line += " by " + pol["enforced_by"]
    elif pol["verdict"] in ("deny", "kill"):
        line += " observe-only"
    return line


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)


# --- status ------------------------------------------------------------

@suite.test("status text")
def t_status_text(res, ctx):
    cli, sock, pol1, dpid = ctx.cli, ctx.sock, ctx.pol1, ctx.dpid
    rc, out, err = cli.run("status")
    lines = out.splitlines()
    want = [
        f"daemon       pid {dpid}, up ",
        f"control      {sock}",
        "policy       cli-test version 1",
        f"source       {pol1}",
        "rules        2, default allow",
        "coverage     cli-audit  audit  ",
        "             cli-deny   deny   ",
        "             (default)  allow  ",
        "counters     records ",
    ]
    problems = [] if rc == 0 else [f"exit {rc}: {err.strip()}"]
    for w in want:
        if not any(l.startswith(w) for l in lines):
            problems.append(f"no line starting {w!r}")
    if err:
        problems.append(f"stderr {err!r}")
    if problems:
        problems.append("got:\n" + out)
    res.check("status text", problems)


@suite.test("status -j")
def t_status_j(res, ctx):
    cli, sock, pol1, dpid = ctx.cli, ctx.sock, ctx.pol1, ctx.dpid
    problems = []
    try:
        st = cli.json("status", "-j")
        if st.get("ok") is not True or st.get("cmd") != "status":
            problems.append(f"ok/cmd: {st.get('ok')!r} {st.get('cmd')!r}")
        if st["daemon"]["pid"] != dpid:
            problems.append(f"daemon.pid {st['daemon']['pid']} != {dpid}")
        want_pol = {"name": "cli-test", "version": 1, "source": pol1, "rules": 2,
                    "default": "allow"}
        if st["policy"] != want_pol:
            problems.append(f"policy {st['policy']} != {want_pol}")
        if [c["rule"] for c in st["coverage"]] != ["cli-audit", "cli-deny", None]:
            problems.append(f"coverage {st['coverage']}")
        if st["daemon"].get("control") != sock:
            problems.append(f"daemon.control {st['daemon'].get('control')!r}")
    except (RuntimeError, ValueError, KeyError, TypeError) as e:
        problems.append(str(e))
    res.check("status -j", problems)


@suite.test("SENDGUARD_CONTROL and -j before the command")
def t_control_from_env(res, ctx):
    cli, sock, dpid = ctx.cli, ctx.sock, ctx.dpid
    # the global -j before the command, and the socket from the environment
    problems = []
    env = dict(os.environ, SENDGUARD_CONTROL=sock)
    rc, out, err = cli.run("-j", "status", control=False, env=env)
    try:
        if rc != 0 or json.loads(out)["daemon"]["pid"] != dpid:
            problems.append(f"exit {rc}: {out.strip()[:200]} {err.strip()}")
    except (ValueError, KeyError, TypeError) as e:
        problems.append(f"{e}: {out[:200]!r}")
    res.check("SENDGUARD_CONTROL and -j before the command", problems)


# --- events without --follow -------------------------------------------

@suite.test("events shows this process's send")
def t_events_shows_send(res, ctx):
    cli, me = ctx.cli, ctx.me
    problems = []
    rec, result = find_send(cli, P_AUDIT, b"abcde")
    ctx.rec = rec  # for the text format of the same record
    if not rec:
        problems.append(f"no send to port {P_AUDIT} of pid {me} in `events`")
    else:
        want = {"syscall": "sendto", "pid": me, "addr": "127.0.0.1", "port": P_AUDIT,
                "len": 5, "ret": 5, "verdict": "audit", "rule": "cli-audit", "version": 1}
        got = {"syscall": rec["syscall"], "pid": rec["proc"]["pid"],
               "addr": rec["dst"]["addr"], "port": rec["dst"]["port"], "len": rec["len"],
               "ret": rec["ret"], "verdict": rec["policy"]["verdict"],
               "rule": rec["policy"]["rule"], "version": rec["policy"]["version"]}
        if got != want or result != "ok":
            problems.append(f"got {got} (send: {result}), want {want}")
    res.check("events shows this process's send", problems)


@suite.test("events --filter pid=ME lists only ME")
def t_events_filter_pid(res, ctx):
    cli, me = ctx.cli, ctx.me
    problems = []
    try:
        recs, out = cli.events("--filter", f"pid={me}")
        others = [r for r in recs if r.get("type") in ("send", "connect") and
                  r["proc"]["pid"] != me]
        if others:
            problems.append(f"{len(others)} records of other pids, e.g. {others[0]}")
        seqs = [r["seq"] for r in recs]
        if seqs != sorted(seqs):
            problems.append("records not oldest first")
        if not out.endswith("\n") or not recs:
            problems.append(f"output {out[-200:]!r}")
    except (RuntimeError, ValueError) as e:
        problems.append(str(e))
    res.check("events --filter pid=ME lists only ME", problems)


@suite.test("events --backlog 1")
def t_events_backlog_1(res, ctx):
    cli, me = ctx.cli, ctx.me
    problems = []
    try:
        recs, _ = cli.events("--filter", f"pid={me}", "--backlog", "1")
        if len(recs) != 1:
            problems.append(f"{len(recs)} records for --backlog 1")
    except (RuntimeError, ValueError) as e:
        problems.append(str(e))
    res.check("events --backlog 1", problems)


# --- --format text -----------------------------------------------------

@suite.test("events --format text (allowed send)")
def t_events_text_allowed(res, ctx):
    cli, me, rec = ctx.cli, ctx.me, ctx.rec
    problems = []
    if rec:
        rc, out, err = cli.run("events", "--filter", f"pid={me},type=send", "--format", "text")
        want = expected_text(rec)
        if rc != 0 or want not in out.splitlines():
            problems.append(f"exit {rc}, no line {want!r} in {out[-600:]!r} {err.strip()}")
        if not want.endswith(f"-> 127.0.0.1:{P_AUDIT} udp 5 B ret 5 audit (rule cli-audit)"):
            problems.append(f"unexpected shape {want!r}")
    else:
        problems.append("no record to show (see above)")
    res.check("events --format text (allowed send)", problems)


@suite.test("events --format text (denied send)")
def t_events_text_denied(res, ctx):
    cli, me = ctx.cli, ctx.me
    problems = []
    drec, result = find_send(cli, P_DENY, b"xyz")
    if not drec:
        problems.append(f"no send to port {P_DENY} of pid {me}")
    else:
        rc, out, err = cli.run("events", "--filter", f"pid={me},type=send,verdict=deny",
                               "--format", "text")
        want = expected_text(drec)
        if rc != 0 or want not in out.splitlines():
            problems.append(f"exit {rc}, no line {want!r} in {out[-600:]!r} {err.strip()}")
        tail = f"-> 127.0.0.1:{P_DENY} udp 3 B deny (rule cli-deny) EPERM by cgroup"
        if result != "EPERM" or not want.endswith(tail):
            problems.append(f"send: {result}, line {want!r}, want it to end {tail!r}")
        if any(" allow" in l or " audit" in l for l in out.splitlines()):
            problems.append("verdict=deny listed other verdicts")
    res.check("events --format text (denied send)", problems)


# --- events --follow ---------------------------------------------------

@suite.test("events --follow --format json", "events --follow --format text")
def t_events_follow(res, ctx):
    cli, me = ctx.cli, ctx.me
    for fmt in ("json", "text"):
        name = f"events --follow --format {fmt}"
        if not res.wanted(name):
            continue
        port = P_FOLLOW if fmt == "json" else P_FOLLOW_TEXT
        sig = signal.SIGINT if fmt == "json" else signal.SIGTERM
        problems = []
        f = Follower(cli, "--filter", f"pid={me}", "--format", fmt)
        seen = None
        # the subscription starts when the daemon has read the request: send
        # until the follower shows one (backlog 0: nothing from before it)
        for _ in range(20):
            udp_send(port, b"follow")
            line = f.line(0.5)
            while line is not None:
                if fmt == "json":
                    try:
                        r = json.loads(line)
                    except ValueError:
                        problems.append(f"not JSON: {line!r}")
                        break
                    if r.get("type") == "send" and dport(r) == port:
                        seen = line
                        if r["proc"]["pid"] != me or r["len"] != 6:
                            problems.append(f"record {line}")
                        break
                elif f" -> 127.0.0.1:{port} " in line:
                    seen = line
                    tail = f" sendto pid {me} "
                    end = f" -> 127.0.0.1:{port} udp 6 B ret 6 allow"
                    if tail not in line or not line.endswith(end):
                        problems.append(f"line {line!r}: want {tail!r}...{end!r}")
                    break
                line = f.line(0.1)
            if seen or problems or f.proc.poll() is not None:
                break
        if not seen and not problems:
            problems.append(f"no line for a send to port {port} within 10 s")
        rc, err = f.stop(sig)
        if rc != 0:
            problems.append(f"exit {rc} after {signal.Signals(sig).name}: {err.strip()}")
        res.check(name, problems)


# --- policy load, policy show ------------------------------------------

@suite.test("policy load (valid)")
def t_policy_load_valid(res, ctx):
    cli, work, pol2, pol2_name = ctx.cli, ctx.work, ctx.pol2, ctx.pol2_name
    problems = []
    rc, out, err = cli.run("policy", "load", pol2_name, cwd=work)  # a relative FILE
    if (rc, out, err) != (0, "loaded cli-test-2 version 2\n", ""):
        problems.append(f"exit {rc}, stdout {out!r}, stderr {err!r}")
    try:
        st = cli.json("status", "-j")
        if (st["policy"]["name"], st["policy"]["version"], st["policy"]["source"]) != \
                ("cli-test-2", 2, pol2):
            problems.append(f"status policy {st['policy']}")
    except (RuntimeError, ValueError, KeyError) as e:
        problems.append(str(e))
    rc, out, _ = cli.run("status")
    if "policy       cli-test-2 version 2\n" not in out:
        problems.append(f"status text: {out!r}")
    res.check("policy load (valid)", problems)


@suite.test("policy load (invalid)")
def t_policy_load_invalid(res, ctx):
    cli, work, bad_name = ctx.cli, ctx.work, ctx.bad_name
    problems = []
    rc, out, err = cli.run("policy", "load", os.path.join(work, bad_name))
    want_err = [
        'default: "block": unknown action (allow, deny, audit, kill)',
        'rules[0].match.dst[0]: "10.0.0.0/33": prefix length must be 0-32',
        f"sendguard: policy load: {os.path.join(work, bad_name)}: policy refused (2 errors), "
        "the policy in force stays",
    ]
    if rc != 1 or out != "" or err.splitlines() != want_err:
        problems.append(f"exit {rc}, stdout {out!r}, stderr {err!r}")
    try:
        st = cli.json("status", "-j")
        if (st["policy"]["name"], st["policy"]["version"]) != ("cli-test-2", 2):
            problems.append(f"status policy after the refusal {st['policy']}")
    except (RuntimeError, ValueError, KeyError) as e:
        problems.append(str(e))
    rc, out, err = cli.run("policy", "load", "-j", os.path.join(work, bad_name))
    try:
        r = json.loads(out)
        if rc != 1 or r["ok"] is not False or len(r["errors"]) != 2:
            problems.append(f"-j: exit {rc}, {out!r}")
    except (ValueError, KeyError) as e:
        problems.append(f"-j: {e}: {out!r}")
    res.check("policy load (invalid)", problems)


@suite.test("policy load (no such file, no FILE)")
def t_policy_load_missing(res, ctx):
    cli, work = ctx.cli, ctx.work
    problems = []
    rc, out, err = cli.run("policy", "load", os.path.join(work, "missing.json"))
    if rc != 1 or "missing.json: No such file or directory" not in err:
        problems.append(f"exit {rc}, stderr {err!r}")
    rc, out, err = cli.run("policy", "load")
    if rc != 2 or err != "sendguard: policy load: missing FILE\n":
        problems.append(f"without FILE: exit {rc}, stderr {err!r}")
    res.check("policy load (no such file, no FILE)", problems)


@suite.test("policy show")
def t_policy_show(res, ctx):
    cli, pol2, pol2_obj = ctx.cli, ctx.pol2, ctx.pol2_obj
    problems = []
    rc, out, err = cli.run("policy", "show")
    head = f"policy       cli-test-2 version 2\nsource       {pol2}\n"
    if rc != 0 or not out.startswith(head):
        problems.append(f"exit {rc}, stdout {out[:300]!r}, stderr {err!r}")
    else:
        try:
            if json.loads(out[len(head):]) != pol2_obj:
                problems.append(f"policy {out[len(head):]!r} != {pol2_obj}")
        except ValueError as e:
            problems.append(f"policy not JSON ({e}): {out[len(head):]!r}")
    try:
        r = cli.json("policy", "show", "-j")
        if (r["name"], r["version"], r["source"], r["policy"]) != \
                ("cli-test-2", 2, pol2, pol2_obj):
            problems.append(f"-j: {r}")
    except (RuntimeError, ValueError, KeyError) as e:
        problems.append(f"-j: {e}")
    res.check("policy show", problems)


@suite.test("events --filter type=policy --format text")
def t_events_policy_text(res, ctx):
    cli, work, pol2, bad_name = ctx.cli, ctx.work, ctx.pol2, ctx.bad_name
    problems = []
    try:
        rc, out, err = cli.run("events", "--filter", "type=policy", "--format", "text")
        want = [f" policy loaded cli-test-2 version 2 from {pol2} (1 rule, default allow)",
                f" policy refused {os.path.join(work, bad_name)} (2 errors), in force: "
                "cli-test-2 version 2"]
        for w in want:
            if not any(l.endswith(w) for l in out.splitlines()):
                problems.append(f"no line ending {w!r} in {out!r}")
        if rc != 0:
            problems.append(f"exit {rc}: {err.strip()}")
    except RuntimeError as e:
        problems.append(str(e))
    res.check("events --filter type=policy --format text", problems)


# --- errors ------------------------------------------------------------

@suite.test("unreachable socket")
def t_unreachable_socket(res, ctx):
    cli, work = ctx.cli, ctx.work
    problems = []
    nosock = os.path.join(work, "nosuch.sock")
    for args in (["status"], ["events"], ["policy", "show"]):
        rc, out, err = cli.run("--control", nosock, *args, control=False)
        want = (f"sendguard: cannot connect to {nosock}: No such file or directory "
                "(is sendguardd running?)\n")
        if (rc, out, err) != (1, "", want):
            problems.append(f"{args}: exit {rc}, stdout {out!r}, stderr {err!r}")
    res.check("unreachable socket", problems)


@suite.test("bad --filter, --backlog, --format")
def t_bad_filter_backlog_format(res, ctx):
    cli = ctx.cli
    problems = []
    for expr, part in (("pid=abc", "'pid=abc': pid must be a number"),
                       ("bogus=1", "'bogus=1': unknown key 'bogus'"),
                       ("type=send,verdict=maybe", "'verdict=maybe': unknown verdict"),
                       ("pid", "'pid': expected KEY=VALUE"),
                       ("type=send,,pid=1", "empty element")):
        rc, out, err = cli.run("events", "--filter", expr)
        if rc != 2 or part not in err or out:
            problems.append(f"{expr}: exit {rc}, stderr {err!r}")
    rc, out, err = cli.run("events", "--backlog", "1025")
    if rc != 2 or "--backlog: '1025'" not in err:
        problems.append(f"--backlog 1025: exit {rc}, stderr {err!r}")
    rc, out, err = cli.run("events", "--format", "xml")
    if rc != 2 or "--format: 'xml'" not in err:
        problems.append(f"--format xml: exit {rc}, stderr {err!r}")
    res.check("bad --filter, --backlog, --format", problems)


# --- a follower when the daemon goes away ------------------------------

@suite.test("events --follow ends when the daemon stops")
def t_follow_ends_with_daemon(res, ctx):
    cli, d, me = ctx.cli, ctx.d, ctx.me
    problems = []
    f = Follower(cli, "--filter", f"pid={me}")
    time.sleep(0.5)
    d.stop()
    try:
        rc = f.proc.wait(10)
        err = f.proc.stderr.read()
        if rc != 0 or "closed the connection" not in err:
            problems.append(f"exit {rc}, stderr {err!r}")
    except subprocess.TimeoutExpired:
        f.proc.kill()
        f.proc.wait()
        problems.append("still running 10 s after the daemon stopped")
    res.check("events --follow ends when the daemon stops", problems)


FAKE_LISTENER = r"""
import json, os, socket, sys
path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(8)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.settimeout(2)
    got = b""
    try:
        while not got.endswith(b"\n"):
            d = c.recv(65536)
            if not d:
                break
            got += d
    except OSError:
        pass
    with open(log, "ab") as f:
        f.write(got)
    fake = {"ok": True, "cmd": "status", "daemon": {"pid": 1}, "policy": {"name": "FAKE"},
            "name": "FAKE", "version": 99}
    try:
        c.sendall(json.dumps(fake).encode() + b"\n")
    except OSError:
        pass
    c.close()
"""


@suite.test("cli refuses a foreign listener",
            "cli refuses a foreign listener (socket file of uid 65534)",
            "cli refuses a foreign listener (socket file chowned to root, listener uid 65534)")
def t_foreign_listener(res, ctx):
    """A listener an unprivileged user runs at the control path: the CLI refuses to talk to
    it (the socket file's owner, then SO_PEERCRED), and tells it nothing."""
    base = tempfile.mkdtemp(prefix="sg-cli-fake-")
    os.chmod(base, 0o755)
    udir = os.path.join(base, "u")
    os.mkdir(udir, 0o755)
    os.chown(udir, 65534, 65534)
    sock, log = os.path.join(udir, "control.sock"), os.path.join(udir, "heard")
    pol = os.path.join(base, "p.json")
    write_json(pol, {"name": "secret-name", "default": "allow", "rules": []})
    cli_path = os.path.join(ctx.build, "sendguard")
    lst = subprocess.Popen(["setpriv", "--reuid", "65534", "--regid", "65534",
                            "--clear-groups", sys.executable, "-c", FAKE_LISTENER, sock, log],
                           stdout=subprocess.PIPE, text=True)
    cli = Cli(cli_path, sock)
    try:
        if lst.stdout.readline().strip() != "listening":
            res.check("cli refuses a foreign listener", ["the fake listener did not start"])
            return
        for what, want in (("socket file of uid 65534", "the socket belongs to uid 65534"),
                           ("socket file chowned to root, listener uid 65534",
                            "runs as uid 65534, not root or you")):
            if "chowned" in what:
                os.chown(sock, 0, 0)
            problems = []
            for args in (["status"], ["status", "-j"], ["policy", "show"],
                         ["policy", "load", pol], ["events"]):
                rc, out, err = cli.run(*args)
                if rc != 1 or want not in err or "FAKE" in out:
                    problems.append(f"{' '.join(args)}: exit {rc}, stdout {out[:100]!r}, "
                                    f"stderr {err.strip()[:200]!r}")
            heard = b""
            if os.path.exists(log):
                with open(log, "rb") as f:
                    heard = f.read()
            if heard:
                problems.append(f"the listener was told {heard[:200]!r}")
            res.check(f"cli refuses a foreign listener ({what})", problems)
    finally:
        lst.kill()
        lst.wait()
        shutil.rmtree(base, ignore_errors=True)


def main():
    args, res = suite.parse()
    ctx = suite
    # relative to the repository, not the current directory
    ctx.build = build = args.build if os.path.isabs(args.build) else \
        os.path.join(ROOT, args.build)
    daemon = os.path.abspath(args.daemon) if args.daemon else os.path.join(build, "sendguardd")

    if os.geteuid() != 0:
        print("cli_control: needs root (the daemon loads BPF programs): sudo make test")
        if os.environ.get("CI") == "true":
            res.check("cli_control", ["not root, and CI=true: not skipped"])
        return res.summary()

    suite.run(ctx, tests=[t_foreign_listener])

    ctx.work = work = tempfile.mkdtemp(prefix="sg-cli-control-")
    ctx.sock = sock = os.path.join(work, "control.sock")
    ctx.pol1 = pol1 = os.path.join(work, "one.json")
    write_json(pol1, {"name": "cli-test", "default": "allow", "rules": [
        {"name": "cli-audit", "action": "audit", "match": {"dst": [f"127.0.0.1:{P_AUDIT}"]}},
        {"name": "cli-deny", "action": "deny", "match": {"dst": [f"127.0.0.1:{P_DENY}"]}},
    ]})
    ctx.pol2_name, ctx.bad_name = "two.json", "bad.json"
    ctx.pol2 = os.path.join(work, ctx.pol2_name)
    ctx.pol2_obj = {"name": "cli-test-2", "default": "allow",
                    "rules": [{"name": "r", "action": "audit", "match": {"port": [P_AUDIT]}}]}
    write_json(ctx.pol2, ctx.pol2_obj)
    with open(os.path.join(work, ctx.bad_name), "w") as f:
        f.write('{"name": "bad", "default": "block", "rules": [\n'
                '  {"name": "x", "action": "deny", "match": {"dst": ["10.0.0.0/33"]}}]}\n')

    ctx.d = d = Daemon(daemon, work, pol1, sock)
    why = d.start()
    try:
        if why:
            res.check("daemon start", [why])
        else:
            ctx.me, ctx.dpid, ctx.rec = os.getpid(), d.proc.pid, None
            ctx.cli = Cli(os.path.join(build, "sendguard"), sock)
            suite.run(ctx, tests=[fn for fn, _ in suite.tests if fn is not t_foreign_listener])
    finally:
        d.stop()
        shutil.rmtree(work, ignore_errors=True)
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
