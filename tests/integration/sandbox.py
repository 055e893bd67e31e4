#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""sendguard run integration tests: the seccomp sandbox, real sends, exact events.

    /usr/bin/python3 tests/integration/sandbox.py --build build [-k PATTERN] [-v]

Runs build/tests/sandboxee (tests/helpers/sandboxee.c) and real programs (curl, dig)
under `build/sendguard run`, as an unprivileged user (setpriv to 65534) when started as
root, against receivers this script owns on loopback and unix sockets in a private
directory. Checks what the sandboxed program saw (return values, errno), what reached
the receivers, and the events (docs/event.schema.json).

Needs no root and no BPF; kernel features are probed at run time (seccomp user
notification, pidfd_getfd), never assumed from a version. Prints `ok NAME` / `FAIL NAME:
reason` per test, then `N passed, N failed`; exit status 1 if any failed. What the suite
needs and does not find (setpriv, curl, dig, a kernel without user notification) is
skipped with the reason, except with CI=true, where that is a failure.
"""

import errno
import http.server
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import expect  # noqa: E402  (tests/integration/expect.py: the schema validator)
import harness  # noqa: E402  (tests/integration/harness.py)

TIMEOUT = 60
NOBODY = 65534

suite = harness.Suite(__doc__)
suite.add_argument("--race-sends", type=int, default=20000,
                   help="sends per race test (default 20000)")
suite.add_argument("--rounds", type=int, default=20, help="random policies compared (default 20)")


class Env:
    def __init__(self, build, ci, verbose):
        self.build = build
        self.ci = ci
        self.verbose = verbose
        self.sg = os.path.join(build, "sendguard")
        self.helper = os.path.join(build, "tests", "sandboxee")
        self.dir = tempfile.mkdtemp(prefix="sg-sandbox-")
        os.chmod(self.dir, 0o777)
        self.setpriv = shutil.which("setpriv") if os.geteuid() == 0 else None
        self.validator, self.schema_err = expect.load_validator(
            os.path.join(ROOT, "docs", "event.schema.json"))
        self.n = 0

    def path(self, name):
        return os.path.join(self.dir, name)

    def policy(self, rules, default="allow"):
        self.n += 1
        p = self.path(f"policy{self.n}.json")
        with open(p, "w") as f:
            json.dump({"name": f"p{self.n}", "default": default, "rules": rules}, f)
        os.chmod(p, 0o644)
        return p

    def prefix(self):
        """The unprivileged user the sandboxed commands run as."""
        if self.setpriv:
            return [self.setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
        return []

    def run(self, cmd, policy=None, trace_all=False, verbose=False, stdin=None,
            timeout=TIMEOUT, extra=()):
        """sendguard run CMD: (rc, stdout, stderr, events)."""
        self.n += 1
        ev = self.path(f"events{self.n}.jsonl")
        argv = self.prefix() + [self.sg, "run", "-o", "file:" + ev]
        if policy:
            argv += ["-p", policy]
        if trace_all:
            argv.append("--trace-all")
        if verbose:
            argv.append("-v")
        argv += list(extra) + ["--"] + cmd
        p = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout,
                           cwd=self.dir)
        events = []
        if os.path.exists(ev):
            with open(ev) as f:
                events = [json.loads(line) for line in f if line.strip()]
        if self.verbose:
            print(f"# {' '.join(argv)}\n# rc {p.returncode}\n# {p.stdout.strip()}\n"
                  f"# {p.stderr.strip()}", flush=True)
        return p.returncode, p.stdout, p.stderr, events

    def helper_json(self, args, **kw):
        rc, out, err, events = self.run([self.helper] + args, **kw)
        lines = [ln for ln in out.splitlines() if ln.startswith("{")]
        try:
            info = json.loads(lines[-1]) if lines else None
        except ValueError:
            info = None
        return rc, info, err, events

    def schema_problems(self, events):
        if not self.validator:
            return [f"schema: {self.schema_err}"]
        return self.validator.check_all(events)[:5]


def counters(stderr):
    m = re.search(r"(\d+) notifications, (\d+) judged calls, (\d+) events, (\d+) denied", stderr)
    return tuple(int(x) for x in m.groups()) if m else None


class Udp:
    """A UDP receiver on loopback that counts datagrams (big receive buffer)."""

    def __init__(self, family=socket.AF_INET):
        self.s = socket.socket(family, socket.SOCK_DGRAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.s.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
        self.port = self.s.getsockname()[1]
        self.s.setblocking(False)

    def count(self):
        n = 0
        while True:
            try:
                self.s.recv(65536)
                n += 1
            except BlockingIOError:
                return n

    def close(self):
        self.s.close()


class UnixDgram:
    def __init__(self, path=None, abstract=None):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            self.s.bind("\0" + abstract)
        else:
            self.s.bind(path)
            os.chmod(path, 0o666)
        self.s.setblocking(False)

    count = Udp.count
    close = Udp.close


def drain_tcp(port_holder, stop):
    """Accepts on a TCP listener and counts bytes until stop is set."""
    srv = port_holder["sock"]
    srv.settimeout(0.05)
    conns = []
    while not stop.is_set():
        try:
            c, _ = srv.accept()
            c.setblocking(False)
            conns.append(c)
        except (socket.timeout, BlockingIOError):
            pass
        for c in conns:
            try:
                while True:
                    d = c.recv(65536)
                    if not d:
                        break
                    port_holder["bytes"] += len(d)
            except BlockingIOError:
                pass


def tcp_listener():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    holder = {"sock": s, "port": s.getsockname()[1], "bytes": 0}
    stop = threading.Event()
    t = threading.Thread(target=drain_tcp, args=(holder, stop), daemon=True)
    t.start()
    holder["stop"] = lambda: (stop.set(), t.join(2), s.close())
    return holder


def send_events(events, pid=None):
    return [e for e in events if e.get("type") in ("send", "connect")
            and (pid is None or e["proc"]["pid"] == pid)]


# --- probes -----------------------------------------------------------------------------


def probe(env):
    """None when `sendguard run` can work here, else why not."""
    if not os.access(env.sg, os.X_OK) or not os.access(env.helper, os.X_OK):
        return f"{env.sg} or {env.helper} not built (run make)"
    rc, out, err, _ = env.run(["/bin/true"])
    if rc != 0:
        return f"sendguard run -- /bin/true exited {rc}: {err.strip()}"
    return None


# --- tests ------------------------------------------------------------------------------


@suite.test("usage_missing_cmd", "usage_bad_policy", "usage_bad_sink", "usage_remote_syslog_sink",
            "usage_cannot_exec")
def t_usage(res, env):
    cases = [
        ("usage_missing_cmd", [env.sg, "run"], 2, "missing CMD"),
        ("usage_bad_policy", [env.sg, "run", "-p", env.path("nope.json"), "--", "/bin/true"], 2,
         "nope.json"),
        ("usage_bad_sink", [env.sg, "run", "-o", "tcp:x", "--", "/bin/true"], 2, "-o 'tcp:x'"),
        # The daemon's remote syslog sink needs its event loop: refused, not left undrained.
        ("usage_remote_syslog_sink", [env.sg, "run", "-o", "syslog+tcp://127.0.0.1:9", "--",
                                      "/bin/true"], 2, "-o 'syslog\\+tcp://127.0.0.1:9'"),
        ("usage_cannot_exec", [env.sg, "run", "--", env.path("no-such-program")], 2,
         "cannot execute .*no-such-program.*No such file"),
    ]
    for name, argv, want_rc, pattern in cases:
        if not res.wanted(name):
            continue
        p = subprocess.run(env.prefix() + argv, capture_output=True, text=True, timeout=TIMEOUT,
                           cwd=env.dir)
        problems = []
        if p.returncode != want_rc:
            problems.append(f"exit {p.returncode}, expected {want_rc}: {p.stderr.strip()}")
        if not re.search(pattern, p.stderr):
            problems.append(f"stderr does not name the cause ({pattern}): {p.stderr.strip()!r}")
        res.report(name, problems)


@suite.test("exit_status_and_signals")
def t_exit_status(res, env):
    name = "exit_status_and_signals"
    if not res.wanted(name):
        return
    problems = []
    for args, want in ((["exit", "0"], 0), (["exit", "7"], 7), (["raise", "15"], 143),
                       (["raise", "9"], 137)):
        rc, _, err, _ = env.run([env.helper] + args)
        if rc != want:
            problems.append(f"sandboxee {' '.join(args)}: run exited {rc}, expected {want} "
                            f"({err.strip()})")
    res.report(name, problems)


@suite.test("leftover_processes_supervised")
def t_leftovers(res, env):
    """Processes CMD leaves behind stay supervised; run waits for them, exits with CMD's status."""
    name = "leftover_processes_supervised"
    if not res.wanted(name):
        return
    d = Udp()
    out = env.path("leftover.out")
    pol = env.policy([{"name": "d", "action": "deny", "match": {"dst": [f"127.0.0.1:{d.port}"]}}])
    script = f"sendto 4 127.0.0.1 {d.port} 0 8"
    t0 = time.monotonic()
    rc, _, err, events = env.run(["/bin/sh", "-c", f"(sleep 0.5; echo '{script}' | {env.helper} "
                                  f"script > {out}) & exit 3"], policy=pol)
    took = time.monotonic() - t0
    problems = []
    if rc != 3:
        problems.append(f"exit {rc}, expected CMD's 3 ({err.strip()[-200:]})")
    if took < 0.5:
        problems.append(f"run returned after {took:.2f} s, before the process left behind")
    try:
        with open(out) as f:
            got = json.loads(f.read().strip() or "null")
    except (OSError, ValueError) as e:
        got = repr(e)
    if got != {"ret": -1, "errno": errno.EPERM}:
        problems.append(f"the process left behind: {got}, expected its send denied (EPERM)")
    if d.count():
        problems.append("the denied port got the datagram")
    d.close()
    res.report(name, problems)


@suite.test("sigint_reaches_cmd")
def t_sigint(res, env):
    name = "sigint_reaches_cmd"
    if not res.wanted(name):
        return
    ev = env.path("sigint.jsonl")
    p = subprocess.Popen(env.prefix() + [env.sg, "run", "-o", "file:" + ev, "--", env.helper,
                                         "waitsig"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=env.dir,
                         start_new_session=True)
    problems = []
    line = p.stdout.readline()
    if "ready" not in line:
        problems.append(f"sandboxee did not start: {line!r}")
    p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        # The whole session: a CMD left behind would hold the pipes open forever.
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate(timeout=20)
        problems.append("still running 20 s after SIGINT to sendguard run")
    if "sigint" not in out:
        problems.append(f"CMD did not see SIGINT: {out!r} {err!r}")
    if p.returncode != 0:
        problems.append(f"exit {p.returncode}, expected 0 (CMD handled SIGINT)")
    res.report(name, problems)


@suite.test("eintr_blocked_send", "parked_call_signal_and_room_together")
def t_eintr(res, env):
    # a dst rule: sendmsg's destination is in memory, so it goes to the supervisor
    pol = env.policy([{"name": "d", "action": "deny", "match": {"dst": ["192.0.2.1/32"]}}])
    name = "eintr_blocked_send"
    if res.wanted(name):
        rc, info, err, _ = env.helper_json(["eintr"], policy=pol)
        problems = []
        if not info or info.get("errno") != errno.EINTR or info.get("ret") != -1:
            problems.append(f"blocked sendmsg + SIGUSR1 (no SA_RESTART): {info}, expected ret "
                            f"-1 errno EINTR ({err.strip()})")
        elif info["ms"] < 250:
            problems.append(f"returned after {info['ms']} ms: it did not block")
        # SA_RESTART: the handler runs, the call goes on and completes once there is room
        rc, info, err, _ = env.helper_json(["eintr", "restart"], policy=pol)
        if not info or info.get("ret") != 4096 or not info.get("handler") or info["ms"] < 500:
            problems.append(f"SA_RESTART: {info}, expected the handler to run and the call to "
                            f"complete (4096) after the room was made at 600 ms ({err.strip()})")
        res.report(name, problems)
    # The supervisor stopped from 250 to 750 ms: the signal (300 ms) and the room (600 ms)
    # reach it in one epoll batch; the call ended by the signal must not be touched again.
    name = "parked_call_signal_and_room_together"
    if res.wanted(name):
        ev = env.path("stop.jsonl")
        p = subprocess.Popen(env.prefix() + [env.sg, "run", "-p", pol, "-o", "file:" + ev, "--",
                                             env.helper, "eintr", "restart"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=env.dir, start_new_session=True)
        time.sleep(0.25)
        p.send_signal(signal.SIGSTOP)
        time.sleep(0.5)
        p.send_signal(signal.SIGCONT)
        try:
            out, err = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)  # the CMD too, or it holds the pipes open
            out, err = p.communicate(timeout=20)
        lines = [x for x in out.splitlines() if x.startswith("{")]
        info = json.loads(lines[-1]) if lines else None
        problems = []
        if p.returncode != 0 or not info or info.get("ret") != 4096:
            problems.append(f"run exit {p.returncode}, sandboxee {info}: expected the restarted "
                            f"call to complete ({err.strip()[-200:]})")
        res.report(name, problems)


@suite.test("allow_deny_matrix")
def t_matrix(res, env):
    """Allowed and denied sends of every kind, and agreement with `policy test`."""
    name = "allow_deny_matrix"
    if not res.wanted(name):
        return
    a4, d4 = Udp(), Udp()
    a6, d6 = Udp(socket.AF_INET6), Udp(socket.AF_INET6)
    ua, ud = env.path("ua.sock"), env.path("ud.sock")
    rua, rud = UnixDgram(ua), UnixDgram(ud)
    aba, abd = UnixDgram(abstract=f"sg-a-{os.getpid()}"), UnixDgram(abstract=f"sg-d-{os.getpid()}")
    tl = tcp_listener()
    pol = env.policy([
        {"name": "no-oob", "action": "deny", "match": {"flags_any": ["MSG_OOB"]}},
        {"name": "big", "action": "deny", "match": {"syscall": ["sendto"], "len_min": 1000}},
        {"name": "d4", "action": "deny", "match": {"dst": [f"127.0.0.1:{d4.port}"]}},
        {"name": "d6", "action": "deny", "match": {"dst": [f"[::1]:{d6.port}"]}},
        {"name": "dtcp", "action": "deny", "match": {"dst": [f"127.0.0.1:{tl['port']}"],
                                                      "syscall": ["connect"]}},
        {"name": "dunix", "action": "deny", "match": {"unix": [ud]}},
        {"name": "dabs", "action": "deny", "match": {"unix": [f"@sg-d-{os.getpid()}"]}},
        {"name": "a4", "action": "audit", "match": {"dst": [f"127.0.0.1:{a4.port}"],
                                                     "syscall": ["sendmmsg"]}},
    ])
    cases = []  # (line, expect denied, receiver, policy-test args)
    for op in ("sendto", "sendmsg", "sendmmsg", "csend"):
        cases.append((f"{op} 4 127.0.0.1 {a4.port} 0 32", False, a4, ["--dst", f"127.0.0.1:{a4.port}"]))
        cases.append((f"{op} 4 127.0.0.1 {d4.port} 0 32", True, d4, ["--dst", f"127.0.0.1:{d4.port}"]))
        cases.append((f"{op} 6 ::1 {a6.port} 0 32", False, a6, ["--dst", f"[::1]:{a6.port}"]))
        cases.append((f"{op} 6 ::1 {d6.port} 0 32", True, d6, ["--dst", f"[::1]:{d6.port}"]))
        cases.append((f"{op} u x {ua} 0 32", False, rua, ["--unix", ua]))
        cases.append((f"{op} u x {ud} 0 32", True, rud, ["--unix", ud]))
        cases.append((f"{op} a x sg-a-{os.getpid()} 0 32", False, aba,
                      ["--unix", f"@sg-a-{os.getpid()}"]))
        cases.append((f"{op} a x sg-d-{os.getpid()} 0 32", True, abd,
                      ["--unix", f"@sg-d-{os.getpid()}"]))
    # v4-mapped destinations are judged as IPv4
    cases.append((f"sendto m 127.0.0.1 {d4.port} 0 32", True, d4,
                  ["--dst", f"[::ffff:127.0.0.1]:{d4.port}"]))
    cases.append((f"sendto m 127.0.0.1 {a4.port} 0 32", False, a4,
                  ["--dst", f"[::ffff:127.0.0.1]:{a4.port}"]))
    cases.append((f"sendto 4 127.0.0.1 {a4.port} 1 32", True, None,
                  ["--dst", f"127.0.0.1:{a4.port}", "--flags", "MSG_OOB"]))
    cases.append((f"sendto 4 127.0.0.1 {a4.port} 0 2000", True, None,
                  ["--dst", f"127.0.0.1:{a4.port}", "--len", "2000"]))
    cases.append((f"connect 4 127.0.0.1 {tl['port']} 0 0", True, None,
                  ["--syscall", "connect", "--dst", f"127.0.0.1:{tl['port']}",
                   "--protocol", "tcp"]))
    # blocking stream connects the supervisor performs in a worker thread
    tl2 = tcp_listener()
    us_path = env.path("us.sock")
    us = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    us.bind(us_path)
    os.chmod(us_path, 0o666)
    us.listen(64)
    cases.append((f"connect 4 127.0.0.1 {tl2['port']} 0 0", False, None,
                  ["--syscall", "connect", "--dst", f"127.0.0.1:{tl2['port']}",
                   "--protocol", "tcp"]))
    cases.append((f"connect us x {us_path} 0 0", False, None,
                  ["--syscall", "connect", "--unix", us_path, "--type", "stream"]))
    script = "".join(c[0] + "\n" for c in cases)
    problems = []
    for trace_all in (False, True):
        rc, out, err, events = env.run([env.helper, "script"], policy=pol, stdin=script,
                                       trace_all=trace_all)
        results = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
        if rc != 0 or len(results) != len(cases):
            problems.append(f"trace_all={trace_all}: rc {rc}, {len(results)} results for "
                            f"{len(cases)} sends: {err.strip()[-300:]}")
            continue
        for (line, denied, recv, _), r in zip(cases, results):
            got_denied = r["ret"] == -1 and r["errno"] == errno.EPERM
            if got_denied != denied or (not denied and r["ret"] < 0):
                problems.append(f"{line}: {r}, expected {'EPERM' if denied else 'success'}")
        for recv, want in ((d4, 0), (d6, 0), (rud, 0), (abd, 0)):
            n = recv.count()
            if n != want:
                problems.append(f"a denied receiver got {n} datagrams")
        for recv in (a4, a6, rua, aba):
            if recv.count() < 4:
                problems.append("an allowed receiver got fewer than its 4 datagrams")
        sends = send_events(events)
        # csend is two calls (connect, send) unless the connect is denied
        want = len(cases) + sum(1 for c in cases if c[0].startswith("csend") and not c[1])
        if trace_all and len(sends) != want:
            problems.append(f"--trace-all: {len(sends)} events for {want} judged calls")
        denials = [e for e in sends if e["policy"]["verdict"] == "deny"]
        ndenied = sum(1 for c in cases if c[1])
        if len(denials) != ndenied:
            problems.append(f"trace_all={trace_all}: {len(denials)} deny events, expected "
                            f"{ndenied}")
        for e in denials:
            if e["policy"]["enforced_by"] != "seccomp" or e["errno"] != "EPERM" or e["ret"] != -1:
                problems.append(f"deny event without seccomp/EPERM: {json.dumps(e)[:300]}")
                break
        problems += env.schema_problems(events)
    # the same verdicts as `sendguard policy test`
    for line, denied, _, args in cases:
        p = subprocess.run([env.sg, "policy", "test", pol, "-j"] + args +
                           (["--syscall", line.split()[0].replace("csend", "sendto")]
                            if line.split()[0] not in ("connect",) else []),
                           capture_output=True, text=True)
        try:
            verdict = json.loads(p.stdout)["verdict"]
        except ValueError:
            problems.append(f"policy test {args}: {p.stdout!r} {p.stderr!r}")
            continue
        if (verdict == "deny") != denied:
            problems.append(f"policy test says {verdict} for {line}, run {'denied' if denied else 'allowed'}")
    tl["stop"]()
    tl2["stop"]()
    us.close()
    for r in (a4, d4, a6, d6, rua, rud, aba, abd):
        r.close()
    res.report(name, problems)


FLAGS = ["MSG_OOB", "MSG_DONTROUTE", "MSG_DONTWAIT", "MSG_NOSIGNAL", "MSG_MORE", "MSG_CONFIRM"]
FLAG_BITS = {"MSG_OOB": 1, "MSG_DONTROUTE": 4, "MSG_DONTWAIT": 0x40, "MSG_NOSIGNAL": 0x4000,
             "MSG_MORE": 0x8000, "MSG_CONFIRM": 0x800}


@suite.test("agreement_with_policy_test")
def t_agreement(res, env):
    """Random policies and sends: run's verdicts (and rules) are policy test's."""
    rounds = env.rounds
    name = "agreement_with_policy_test"
    if not res.wanted(name):
        return
    rng = random.Random(1234)
    recv = [Udp() for _ in range(3)]
    ports = [r.port for r in recv]
    problems = []
    total = 0
    for rnd in range(rounds):
        rules = []
        for i in range(rng.randint(1, 6)):
            m = {}
            if rng.random() < 0.5:
                m["dst"] = [f"127.0.0.1:{rng.choice(ports)}" if rng.random() < 0.7
                            else "127.0.0.0/8"]
            if rng.random() < 0.3:
                m["syscall"] = rng.sample(["sendto", "sendmsg", "sendmmsg", "connect"],
                                          rng.randint(1, 2))
            for k in ("flags_any", "flags_all", "flags_none"):
                if rng.random() < 0.25:
                    m[k] = rng.sample(FLAGS, rng.randint(1, 2))
            if "flags_all" in m and "flags_none" in m:
                del m["flags_none"]
            if rng.random() < 0.25:
                m["len_min"] = rng.choice([1, 50, 100])
            if rng.random() < 0.25:
                m["len_max"] = rng.choice([60, 200])
            if "len_min" in m and "len_max" in m and m["len_min"] > m["len_max"]:
                del m["len_max"]
            if rng.random() < 0.15:
                m["protocol"] = ["udp"]
            if rng.random() < 0.1:
                m["uid"] = [NOBODY if env.setpriv else os.getuid()]
            rules.append({"name": f"r{i}", "action": rng.choice(["allow", "deny", "audit"]),
                          "match": m})
        pol = env.policy(rules, default=rng.choice(["allow", "deny"]))
        cases = []
        for _ in range(12):
            op = rng.choice(["sendto", "sendmsg", "sendmmsg", "csend"])
            flags = [f for f in FLAGS if rng.random() < 0.2 and f != "MSG_DONTWAIT"]
            bits = sum(FLAG_BITS[f] for f in flags)
            length = rng.choice([0, 10, 50, 60, 99, 100, 150, 250])
            port = rng.choice(ports)
            cases.append((f"{op} 4 127.0.0.1 {port} {bits} {length}", op, flags, length, port))
        script = "".join(c[0] + "\n" for c in cases)
        for trace_all in (False, True):
            rc, out, err, events = env.run([env.helper, "script"], policy=pol, stdin=script,
                                           trace_all=trace_all)
            results = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
            if len(results) != len(cases):
                problems.append(f"round {rnd}: {len(results)} results: {err.strip()[-200:]}")
                continue
            evs = iter(send_events(events))
            for (line, op, flags, length, port), r in zip(cases, results):
                total += 1
                ids = ["--uid", str(NOBODY), "--gid", str(NOBODY)] if env.setpriv else []
                sc = "sendto" if op == "csend" else op
                steps = []
                if op == "csend":  # connect first: a denied connect is the EPERM
                    steps.append(["--syscall", "connect", "--dst", f"127.0.0.1:{port}",
                                  "--protocol", "udp"] + ids)
                steps.append(["--syscall", sc, "--dst", f"127.0.0.1:{port}", "--len",
                              str(length), "--protocol", "udp"] + ids +
                             (["--flags", ",".join(flags)] if flags else []))
                verdicts = []
                for st in steps:
                    p = subprocess.run([env.sg, "policy", "test", pol, "-j"] + st,
                                       capture_output=True, text=True)
                    verdicts.append(json.loads(p.stdout))
                    if verdicts[-1]["verdict"] == "deny":
                        break
                denied = r["ret"] == -1 and r["errno"] == errno.EPERM
                if denied != (verdicts[-1]["verdict"] == "deny"):
                    problems.append(f"round {rnd} trace_all={trace_all}: {line}: run {r}, "
                                    f"policy test {verdicts} (policy {json.dumps(rules)}, "
                                    f"default {json.load(open(pol))['default']})")
                if not trace_all:
                    continue
                for want in verdicts:
                    ev = next(evs, None)
                    got = ev and {"verdict": ev["policy"]["verdict"], "rule": ev["policy"]["rule"]}
                    if got != want:
                        problems.append(f"round {rnd}: {line}: event {got}, policy test {want}")
    for r in recv:
        r.close()
    if total < rounds * 12 * 2:
        problems.append(f"only {total} sends compared")
    res.report(name, problems[:20])


@suite.test("connected_send_no_notification", "flag_and_len_rules_in_kernel")
def t_in_kernel(res, env):
    """Register-decided rules: no notification for what the kernel allows."""
    name = "connected_send_no_notification"
    if res.wanted(name):
        a = Udp()
        pol = env.policy([
            {"name": "no-oob", "action": "deny", "match": {"flags_any": ["MSG_OOB"]}},
            {"name": "lo", "action": "allow", "match": {"dst": ["127.0.0.0/8"]}},
        ], default="deny")
        rc, info, err, events = env.helper_json(["connected", str(a.port), "1000"], policy=pol,
                                                verbose=True)
        c = counters(err)
        problems = []
        if not info or info.get("sent") != 1000 or a.count() < 1:
            problems.append(f"connected sends: {info}: {err.strip()[-300:]}")
        if not c or c[1] != 1:
            problems.append(f"judged calls {c and c[1]}, expected 1 (the connect; the 1000 "
                            f"connected send()s stay in the kernel): {err.strip()[-300:]}")
        sends = [e for e in events if e.get("type") == "send"]
        if sends:
            problems.append(f"{len(sends)} events for sends the kernel allowed")
        a.close()
        res.report(name, problems)
    name = "flag_and_len_rules_in_kernel"
    if res.wanted(name):
        a = Udp()
        pol = env.policy([
            {"name": "no-oob", "action": "deny", "match": {"flags_any": ["MSG_OOB"]}},
            {"name": "big", "action": "deny", "match": {"syscall": ["sendto"], "len_min": 1000}},
        ])
        script = "".join(f"sendto 4 127.0.0.1 {a.port} 0 100\n" for _ in range(50))
        script += f"sendto 4 127.0.0.1 {a.port} 1 10\nsendto 4 127.0.0.1 {a.port} 0 1500\n"
        rc, out, err, events = env.run([env.helper, "script"], policy=pol, stdin=script,
                                       verbose=True)
        results = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
        c = counters(err)
        problems = []
        if len(results) != 52 or any(r["ret"] != 100 for r in results[:50]):
            problems.append(f"allowed sends failed: {results[:3]}")
        elif results[50]["errno"] != errno.EPERM or results[51]["errno"] != errno.EPERM:
            problems.append(f"OOB / 1500-byte sends: {results[50:]}, expected EPERM")
        if not c or c[1] != 2:
            problems.append(f"judged calls {c and c[1]}, expected 2 (the two denials only)")
        rules = sorted(e["policy"]["rule"] for e in send_events(events))
        if rules != ["big", "no-oob"]:
            problems.append(f"deny events name {rules}, expected big and no-oob")
        a.close()
        res.report(name, problems)


@suite.test("trace_all_one_event_per_send")
def t_trace_all(res, env):
    """--trace-all: one event per send, with the fields of that send."""
    name = "trace_all_one_event_per_send"
    if not res.wanted(name):
        return
    a = Udp()
    lines = [f"sendto 4 127.0.0.1 {a.port} 64 10", f"sendmsg 4 127.0.0.1 {a.port} 0 20",
             f"sendmmsg 4 127.0.0.1 {a.port} 0 30", f"csend 4 127.0.0.1 {a.port} 0 40"] * 5
    rc, out, err, events = env.run([env.helper, "script"], stdin="".join(x + "\n" for x in lines),
                                   trace_all=True)
    sends = [e for e in events if e.get("type") == "send"]
    connects = [e for e in events if e.get("type") == "connect"]
    problems = []
    if len(sends) != len(lines) or len(connects) != 5:
        problems.append(f"{len(sends)} send and {len(connects)} connect events for "
                        f"{len(lines)} sends and 5 connects")
    want = {"sendto": (10, "msg", ["MSG_DONTWAIT"]), "sendmsg": (20, "msg", []),
            "sendmmsg": (30, "msg", []), "csend": (40, "peer", [])}
    for line, e in zip(lines, sends):
        op = line.split()[0]
        ln, source, flags = want[op]
        got = (e["syscall"], e["len"], e["ret"], e["dst_source"], e["dst"], e["flags"],
               e["sock"], e["policy"])
        exp = ("sendto" if op == "csend" else op, ln, ln, source,
               {"family": "inet", "addr": "127.0.0.1", "port": a.port}, flags,
               {"family": "inet", "type": "dgram", "protocol": "udp"},
               {"verdict": "allow", "rule": None, "version": 1, "enforced_by": None})
        if got != exp:
            problems.append(f"{line}: event {got}, expected {exp}")
            break
    seqs = [e["seq"] for e in events]
    if seqs != list(range(1, len(events) + 1)):
        problems.append(f"seq is not 1, 2, 3, ...: {seqs[:10]}")
    if a.count() != len(lines):
        problems.append("the receiver did not get every datagram")
    problems += env.schema_problems(events)
    a.close()
    res.report(name, problems)


@suite.test("race_address_flip", "race_msg_name_null_swap", "race_dup2_fd_swap")
def t_races(res, env):
    n = env.race_sends
    for name, scenario in (("race_address_flip", "flip"), ("race_msg_name_null_swap", "nullflip")):
        if not res.wanted(name):
            continue
        a, d = Udp(), Udp()
        pol = env.policy([{"name": "d", "action": "deny", "match": {"dst": [f"127.0.0.1:{d.port}"]}}])
        rc, info, err, _ = env.helper_json([scenario, str(a.port), str(d.port), str(n)],
                                           policy=pol)
        got_d = d.count()
        problems = []
        if not info or info["ok"] + info["eperm"] != n:
            problems.append(f"sandboxee: {info} {err.strip()[-200:]}")
        if got_d:
            problems.append(f"{got_d} of {n} sends reached the denied port")
        if info and (info["eperm"] == 0 or info["ok"] == 0):
            problems.append(f"the racing thread did not interleave: {info}")
        a.close()
        d.close()
        res.report(name, problems)
    name = "race_dup2_fd_swap"
    if res.wanted(name):
        a = Udp()
        tl = tcp_listener()
        # sends to the TCP peer are denied, the connect to it is not
        pol = env.policy([{"name": "d", "action": "deny",
                           "match": {"dst": [f"127.0.0.1:{tl['port']}"],
                                     "syscall": ["sendto", "sendmsg", "sendmmsg"]}}])
        rc, info, err, _ = env.helper_json(["dupflip", str(a.port), str(tl["port"]),
                                            str(n // 4)], policy=pol)
        time.sleep(0.3)
        tl["stop"]()
        problems = []
        if not info:
            problems.append(f"sandboxee: {err.strip()[-200:]}")
        if tl["bytes"]:
            problems.append(f"{tl['bytes']} bytes reached the TCP peer whose sends are denied")
        if info and not info["eperm"]:
            problems.append(f"no call was judged on the TCP socket: {info}")
        a.close()
        res.report(name, problems)


@suite.test("io_uring_refused", "foreign_abi_killed", "supervisor_protected", "no_new_privs",
            "sendmmsg_partial", "blocked_send_does_not_stall_others", "efault_fails_closed",
            "kill_verdict", "nested_run_refused")
def t_misc(res, env):
    name = "io_uring_refused"
    if res.wanted(name):
        rc, info, err, _ = env.helper_json(["uring"])
        res.report(name, [] if info and info["ret"] == -1 and info["errno"] == errno.ENOSYS
                   else [f"io_uring_setup: {info}, expected ENOSYS"])
    name = "foreign_abi_killed"
    if res.wanted(name) and os.uname().machine == "x86_64":
        # outside the sandbox first: a kernel without ia32 emulation faults (SIGSEGV) and
        # has no foreign ABI to close
        native = subprocess.run([env.helper, "int80"], capture_output=True, text=True)
        rc, out, err, _ = env.run([env.helper, "int80"])
        if native.returncode != 0 and "survived" not in native.stdout:
            print(f"# {name}: this kernel has no ia32 emulation (int $0x80 faults outside "
                  f"the sandbox too); run exited {rc}", flush=True)
            res.report(name, [] if "survived" not in out else ["the i386 call ran"])
        else:
            res.report(name, [] if rc == 128 + signal.SIGSYS and "survived" not in out else
                       [f"an i386 int $0x80 call: run exited {rc} ({out.strip()!r}), "
                        f"expected {128 + signal.SIGSYS} (killed by SIGSYS)"])
    name = "supervisor_protected"
    if res.wanted(name):
        rc, info, err, _ = env.helper_json(["protect"])
        bad = {k: v for k, v in (info or {}).items() if v != errno.EPERM}
        res.report(name, [] if info and not bad else
                   [f"ptrace/process_vm_writev/pidfd_open of the supervisor: {info}"])
    name = "no_new_privs"
    if res.wanted(name):
        rc, out, err, _ = env.run(["/bin/sh", "-c", "grep NoNewPrivs /proc/self/status"])
        res.report(name, [] if re.search(r"NoNewPrivs:\s+1", out) else
                   [f"NoNewPrivs not set: {out!r}"])
    name = "sendmmsg_partial"
    if res.wanted(name):
        a, d = Udp(), Udp()
        pol = env.policy([{"name": "d", "action": "deny", "match": {"dst": [f"127.0.0.1:{d.port}"]}}])
        rc, info, err, events = env.helper_json(["mmsg", str(a.port), str(d.port)], policy=pol)
        problems = []
        if not info or info["first"]["ret"] != 2 or info["first"]["lens"] != [10, 20, 12345]:
            problems.append(f"[A, A, D]: {info and info['first']}, expected 2 sent, msg_len "
                            "10, 20 written, the third untouched")
        if not info or info["second"] != {"ret": -1, "errno": errno.EPERM}:
            problems.append(f"[D, A]: {info and info['second']}, expected EPERM")
        if d.count():
            problems.append("the denied port got a datagram")
        if a.count() != 2:
            problems.append("the allowed port did not get exactly 2 datagrams")
        ev = [(e["index"], e["ret"], e["errno"], e["policy"]["verdict"]) for e in send_events(events)]
        want = [(0, 10, None, "allow"), (1, 20, None, "allow"), (2, -1, "EPERM", "deny"),
                (0, -1, "EPERM", "deny"), (1, -1, "EPERM", "allow")]
        if ev != want:
            problems.append(f"events {ev}, expected {want}")
        problems += env.schema_problems(events)
        a.close()
        d.close()
        res.report(name, problems)
    name = "blocked_send_does_not_stall_others"
    if res.wanted(name):
        a = Udp()
        pol = env.policy([{"name": "d", "action": "deny", "match": {"dst": ["192.0.2.1/32"]}}])
        rc, info, err, _ = env.helper_json(["stall", str(a.port), "200"], policy=pol)
        problems = []
        if not info or info["sent"] != 200 or not info["blocked_meanwhile"] or \
                not info["stalled_done"]:
            problems.append(f"{info}: expected 200 sends while the other thread stayed blocked, "
                            f"and that thread done once drained ({err.strip()[-200:]})")
        a.close()
        res.report(name, problems)
    name = "efault_fails_closed"
    if res.wanted(name):
        a = Udp()
        pol = env.policy([{"name": "d", "action": "deny", "match": {"dst": ["192.0.2.1/32"]}}])
        rc, info, err, _ = env.helper_json(["efault", str(a.port)], policy=pol)
        want = {"buf": {"ret": -1, "errno": errno.EFAULT}, "addr": {"ret": -1, "errno": errno.EFAULT}}
        res.report(name, [] if info == want and not a.count() else [f"{info}, expected {want}"])
        a.close()
    name = "kill_verdict"
    if res.wanted(name):
        k = Udp()
        pol = env.policy([{"name": "k", "action": "kill", "match": {"dst": [f"127.0.0.1:{k.port}"]}}])
        rc, out, err, events = env.run([env.helper, "script"], policy=pol,
                                       stdin=f"sendto 4 127.0.0.1 {k.port} 0 8\n")
        ev = send_events(events)
        problems = []
        if rc != 128 + signal.SIGKILL:
            problems.append(f"exit {rc}, expected {128 + signal.SIGKILL} (SIGKILL)")
        if k.count():
            problems.append("the datagram under a kill rule was sent")
        if len(ev) != 1 or ev[0]["policy"]["verdict"] != "kill" or \
                ev[0]["policy"]["enforced_by"] != "seccomp":
            problems.append(f"events: {[e['policy'] for e in ev]}")
        k.close()
        res.report(name, problems)
    name = "nested_run_refused"
    if res.wanted(name):
        rc, out, err, _ = env.run([env.sg, "run", "--", "/bin/true"])
        res.report(name, [] if rc == 2 and "another seccomp user-notification filter" in err else
                   [f"nested run: exit {rc}, stderr {err.strip()!r}"])


def scm_server(path, holder):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    os.chmod(path, 0o666)
    srv.listen(4)
    srv.settimeout(20)
    holder["sock"] = srv

    def serve():
        try:
            c, _ = srv.accept()
            msg, fds, _, _ = socket.recv_fds(c, 16, 4)
            holder["msg"] = msg
            for fd in fds:
                os.write(fd, b"ok")
                os.close(fd)
            holder["fds"] = len(fds)
            c.close()
        except OSError as e:
            holder["error"] = str(e)
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return t


@suite.test("scm_rights_on_allowed_unix_socket", "cmsg_deny", "unix_path_spellings")
def t_unix(res, env):
    name = "scm_rights_on_allowed_unix_socket"
    if res.wanted(name):
        path = env.path("scm.sock")
        holder = {}
        t = scm_server(path, holder)
        # dst and cmsg rules: the supervisor judges and performs this sendmsg itself
        pol = env.policy([{"name": "fd-ok", "action": "allow",
                           "match": {"cmsg": ["SCM_RIGHTS"], "unix": [path]}},
                          {"name": "no-fd", "action": "deny", "match": {"cmsg": ["SCM_RIGHTS"]}}])
        rc, info, err, events = env.helper_json(["scm", path], policy=pol, trace_all=True)
        t.join(5)
        holder["sock"].close()
        problems = []
        if not info or info.get("ret") != 2 or info.get("read") != "ok":
            problems.append(f"sandboxee: {info}: the passed fd did not arrive usable "
                            f"(server {holder}) {err.strip()[-200:]}")
        ev = [e for e in send_events(events) if e["syscall"] == "sendmsg"]
        if len(ev) != 1 or ev[0]["policy"]["rule"] != "fd-ok" or \
                ev[0]["control"]["cmsgs"][0].get("fds") != 1:
            problems.append(f"events: {ev}")
        res.report(name, problems)
    name = "cmsg_deny"
    if res.wanted(name):
        a = Udp()
        pol = env.policy([{"name": "no-fd", "action": "deny", "match": {"cmsg": ["SCM_RIGHTS"]}}])
        rc, out, err, events = env.run([env.helper, "script"], policy=pol,
                                       stdin=f"scm 4 127.0.0.1 {a.port} 0 8\n"
                                             f"sendmsg 4 127.0.0.1 {a.port} 0 8\n")
        results = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
        problems = []
        if len(results) != 2 or results[0]["errno"] != errno.EPERM or results[1]["ret"] != 8:
            problems.append(f"{results}: expected EPERM for SCM_RIGHTS, success without")
        if a.count() != 1:
            problems.append("the receiver did not get exactly the one datagram without SCM_RIGHTS")
        a.close()
        res.report(name, problems)
    name = "unix_path_spellings"
    if res.wanted(name):
        d = os.path.join(env.dir, "u")
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o777)
        target = os.path.join(d, "dgram.sock")
        other = os.path.join(d, "other.sock")
        rt, ro = UnixDgram(target), UnixDgram(other)
        link = os.path.join(env.dir, "link.sock")
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(target, link)
        pol = env.policy([{"name": "du", "action": "deny", "match": {"unix": [target]}}])
        base = env.dir
        spellings = [target, base + "//u/dgram.sock", base + "/./u/dgram.sock",
                     base + "/u/../u/dgram.sock", "u/dgram.sock", "./u/../u/dgram.sock",
                     "/proc/self/cwd/u/dgram.sock", link]
        script = "".join(f"sendto u x {s} 0 8\n" for s in spellings)
        script += f"sendto u x {other} 0 8\nconnect us x {target} 0 0\n"
        rc, out, err, events = env.run([env.helper, "script"], policy=pol, stdin=script)
        results = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
        problems = []
        if len(results) != len(spellings) + 2:
            problems.append(f"{len(results)} results: {err.strip()[-200:]}")
        else:
            for s, r in zip(spellings, results):
                if r["errno"] != errno.EPERM:
                    problems.append(f"{s}: {r}, expected EPERM")
            if results[-2]["ret"] != 8:
                problems.append(f"the other socket: {results[-2]}, expected 8 bytes sent")
            if results[-1]["errno"] != errno.EPERM:
                problems.append(f"stream connect to the denied path: {results[-1]}")
        if rt.count():
            problems.append("the denied socket got datagrams")
        if ro.count() != 1:
            problems.append("the allowed socket did not get its datagram")
        paths = {e["dst"].get("path") for e in send_events(events) if e.get("dst")}
        if paths - {target, other}:
            problems.append(f"events name {paths}, expected the socket file {target} only")
        rt.close()
        ro.close()
        res.report(name, problems)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


@suite.test("real_curl", "real_dig")
def t_real(res, env):
    name = "real_curl"
    if res.wanted(name):
        curl = shutil.which("curl")
        if not curl:
            missing(res, env, name, "curl not installed (make deps)")
        else:
            srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), QuietHandler)
            port = srv.server_address[1]
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            url = f"http://127.0.0.1:{port}/"
            allow = env.policy([{"name": "web", "action": "allow",
                                 "match": {"dst": [f"127.0.0.1:{port}"]}},
                                {"name": "unix", "action": "allow", "match": {"family": ["unix"]}}],
                               default="deny")
            deny = env.policy([{"name": "web", "action": "deny",
                                "match": {"dst": [f"127.0.0.1:{port}"]}}])
            problems = []
            rc, out, err, ev = env.run([curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                                        "--noproxy", "*", url], policy=allow)
            if rc != 0 or out.strip() != "200":
                problems.append(f"allowed: curl exit {rc}, {out!r} {err.strip()[-200:]}")
            rc, out, err, ev = env.run([curl, "-sS", "-o", "/dev/null", "--noproxy", "*", url],
                                       policy=deny)
            if rc != 7 or not any(e["policy"]["rule"] == "web" and
                                  e["policy"]["verdict"] == "deny" for e in send_events(ev)):
                problems.append(f"denied: curl exit {rc} (expected 7, couldn't connect), "
                                f"events {[e['policy'] for e in send_events(ev)]}")
            srv.shutdown()
            res.report(name, problems)
    name = "real_dig"
    if res.wanted(name):
        dig = shutil.which("dig")
        if not dig:
            missing(res, env, name, "dig not installed (make deps: bind9-dnsutils)")
        else:
            u = Udp()
            allow = env.policy([{"name": "dns", "action": "allow",
                                 "match": {"dst": [f"127.0.0.1:{u.port}"]}}], default="deny")
            deny = env.policy([{"name": "dns", "action": "deny",
                                "match": {"dst": [f"127.0.0.1:{u.port}"]}}])
            problems = []
            cmd = [dig, "@127.0.0.1", "-p", str(u.port), "+tries=1", "+time=1", "+retry=0",
                   "sendguard.test"]
            env.run(cmd, policy=allow)
            if u.count() < 1:
                problems.append("allowed: the query did not reach the local UDP port")
            rc, out, err, ev = env.run(cmd, policy=deny)
            if u.count():
                problems.append("denied: the query reached the local UDP port")
            if not any(e["policy"]["rule"] == "dns" and e["policy"]["verdict"] == "deny"
                       for e in send_events(ev)):
                problems.append(f"denied: no deny event ({out.strip()[-200:]})")
            u.close()
            res.report(name, problems)


def missing(res, env, name, why):
    if env.ci:
        res.report(name, [why + " (CI=true: a missing dependency fails)"])
    else:
        res.skip([name], why)


def main():
    args, res = suite.parse()
    ci = os.environ.get("CI") == "true"
    env = Env(suite.build, ci, args.verbose)
    env.race_sends, env.rounds = args.race_sends, args.rounds
    try:
        if os.geteuid() == 0 and not env.setpriv:
            missing(res, env, "unprivileged", "setpriv not found: the tests would run as root")
        why = probe(env)
        if why:
            missing(res, env, "sandbox", why)
        else:
            suite.run(env, [t_usage, t_exit_status, t_sigint, t_leftovers, t_eintr, t_misc,
                            t_in_kernel, t_trace_all, t_matrix, t_unix, t_races, t_real,
                            t_agreement])
    finally:
        shutil.rmtree(env.dir, ignore_errors=True)
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
