#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Enforcement integration tests: the real sendguardd with a policy file,
real sends and connects on loopback and unix sockets, checked for EPERM vs
success and against the events the daemon writes (filtered by the pids of
this test and its children).

The cgroup hooks apply to the whole host (or --cgroup): denied destinations
are ports and paths private to this run, and the default-deny runs either
use a cgroup of their own or allow loopback and unix so that nothing else on
the host breaks; they last a second or two.

Needs root. Prints one line per test and a final `N passed, N failed`;
exit status 1 when a test failed.
"""
import array
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpfquery  # noqa: E402  (tests/integration/bpfquery.py)
import ctl  # noqa: E402  (tests/integration/ctl.py)
import expect  # noqa: E402  (tests/integration/expect.py: the schema validator)
import harness  # noqa: E402  (tests/integration/harness.py)

# A control socket of this run's own: another daemon (a test run beside this one, or the
# host's) answering on the default path would make ours refuse to start.
CONTROL = os.path.join(tempfile.gettempdir(), f"sendguard-test-{os.getpid()}.sock")


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

BASE = 20000 + (os.getpid() * 7) % 20000  # ports private to this run
P_ALLOWED_FIRST = BASE  # allowed by an earlier rule, denied by a later range
P_RANGE_DENIED = BASE + 1
P_UDP = BASE + 2  # denied v4, v6 and v4-mapped
P_TCP = BASE + 3  # denied for tcp
P_COMM = BASE + 4
P_UID = BASE + 5
P_FLAGS = BASE + 6  # deny with flags_any: observe-only without BPF-LSM
P_LEN = BASE + 7  # uncertain allow (len_min) before a deny
P_FREE = BASE + 8  # no rule
P_RELOAD_A = BASE + 9
P_RELOAD_B = BASE + 10
P_EXE = BASE + 11
P_FOLLOW = BASE + 12
P_LSM_LEN = BASE + 13  # BPF-LSM: deny by len_min
P_LSM_DST = BASE + 14  # BPF-LSM: deny by destination
P_PIDNS = BASE + 15
P_TFO = BASE + 16  # TCP Fast Open: a connect inside a sendto

CHILD = r"""
import ctypes, errno, os, socket, sys
mode, port = sys.argv[1], int(sys.argv[2])
if mode == "comm":
    ctypes.CDLL(None).prctl(15, b"sgdenyme", 0, 0, 0)
elif mode == "uid":
    os.setgroups([]); os.setgid(65534); os.setuid(65534)
elif mode.startswith("cgroup:"):
    with open(mode[7:] + "/cgroup.procs", "w") as f:
        f.write(str(os.getpid()))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
out = []
for p in [port] + [int(x) for x in sys.argv[3:]]:
    try:
        s.sendto(b"x", ("127.0.0.1", p))
        out.append("ok")
    except OSError as e:
        out.append(errno.errorcode[e.errno])
print(os.getpid(), " ".join(out), flush=True)
"""


class Daemon(harness.Daemon):
    """sendguardd on a policy (a dict, written to WORKDIR/policy.json), events to
    WORKDIR/events.jsonl."""

    def __init__(self, build, workdir, policy, extra=()):
        self.policy_path = os.path.join(workdir, "policy.json")
        self.events_path = os.path.join(workdir, "events.jsonl")
        self.write_policy(policy)
        if os.path.exists(self.events_path):
            os.unlink(self.events_path)
        super().__init__(os.path.join(build, "sendguardd"), ["--stats-interval", "0", *extra],
                         events=self.events_path, policy=self.policy_path, control=CONTROL)

    def write_policy(self, policy):
        with open(self.policy_path, "w") as f:
            json.dump(policy, f)


suite = harness.Suite(__doc__)


# Abstract unix names of this run (unique: the abstract namespace is per network namespace).
ABS = "sg-enf-%d" % os.getpid()


def try_send(family, addr, data=b"x", flags=0, stype=socket.SOCK_DGRAM):
    """(result, pid): result is "ok" or the errno name."""
    s = socket.socket(family, stype)
    try:
        s.sendto(data, flags, addr)
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    finally:
        s.close()


def try_path(how, addr, n):
    """n bytes to addr on a connected UDP socket by write() or sendfile(): "ok" or the errno
    name."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(addr)
        if how == "write":
            os.write(s.fileno(), b"W" * n)
        else:
            with tempfile.TemporaryFile() as f:
                f.write(b"F" * n)
                f.flush()
                os.sendfile(s.fileno(), f.fileno(), 0, n)
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    finally:
        s.close()


def sendpage_kernel():
    """True before 6.5: sendfile and splice reach a socket by its sendpage, which no LSM
    hook sees (sock_sendpage is in the kernel's symbols)."""
    try:
        with open("/proc/kallsyms") as f:
            return any(line.rstrip("\n").split(" ")[2:3] == ["sock_sendpage"] for line in f)
    except OSError:
        return False


def try_connect(family, addr, stype=socket.SOCK_STREAM):
    s = socket.socket(family, stype)
    s.settimeout(2)
    try:
        s.connect(addr)
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    finally:
        s.close()


def sendmmsg_udp4(ports):
    """sendmmsg of one byte to 127.0.0.1 at each port: the count, or the errno name."""
    import ctypes

    class Iovec(ctypes.Structure):
        _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]

    class Msghdr(ctypes.Structure):
        _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                    ("iov", ctypes.POINTER(Iovec)), ("iovlen", ctypes.c_size_t),
                    ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                    ("flags", ctypes.c_int)]

    class Mmsghdr(ctypes.Structure):
        _fields_ = [("hdr", Msghdr), ("len", ctypes.c_uint32)]

    libc = ctypes.CDLL(None, use_errno=True)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    buf = ctypes.create_string_buffer(b"x")
    iov = Iovec(ctypes.cast(buf, ctypes.c_void_p), 1)
    names = [ctypes.create_string_buffer(
        b"\x02\x00" + p.to_bytes(2, "big") + socket.inet_aton("127.0.0.1") + bytes(8), 16)
        for p in ports]
    vec = (Mmsghdr * len(ports))()
    for i, n in enumerate(names):
        vec[i].hdr.name = ctypes.cast(n, ctypes.c_void_p)
        vec[i].hdr.namelen = 16
        vec[i].hdr.iov = ctypes.pointer(iov)
        vec[i].hdr.iovlen = 1
    r = libc.sendmmsg(s.fileno(), vec, len(ports), 0)
    err = ctypes.get_errno()
    s.close()
    return r if r >= 0 else errno.errorcode.get(err, str(err))


def run_child(mode, port, *more):
    out = subprocess.run([sys.executable, "-c", CHILD, mode, str(port)] + [str(p) for p in more],
                         capture_output=True, text=True, timeout=20)
    fields = out.stdout.split()
    if len(fields) < 2:
        return 0, ["child failed: " + out.stderr.strip()[-200:]]
    return int(fields[0]), fields[1:]


def lsm_attached(d):
    """Whether the daemon says it enforces with BPF-LSM."""
    return any("enforcing:" in l and "BPF-LSM socket_sendmsg" in l for l in d.log)


def find(events, pid, pred):
    return [e for e in events if e.get("proc", {}).get("pid") == pid and pred(e)]


def dst_port(port):
    return lambda e: (e.get("dst") or {}).get("port") == port


def expect_event(problems, what, evs, ret_ok, verdict, enforced_by, rule=None, etype="send",
                 syscall=None):
    """One or more events: the first must have these fields."""
    if not evs:
        problems.append("%s: no event" % what)
        return
    e = evs[0]
    pol = e.get("policy") or {}
    want = {
        "type": etype,
        "verdict": verdict,
        "enforced_by": enforced_by,
    }
    got = {"type": e.get("type"), "verdict": pol.get("verdict"),
           "enforced_by": pol.get("enforced_by")}
    if rule is not None:
        want["rule"] = rule
        got["rule"] = pol.get("rule")
    if syscall:
        want["syscall"] = syscall
        got["syscall"] = e.get("syscall")
    if ret_ok:
        if e.get("ret", -1) < 0 or e.get("errno") is not None:
            problems.append("%s: want success, got ret %s errno %s" %
                            (what, e.get("ret"), e.get("errno")))
    elif e.get("ret") != -1 or e.get("errno") != "EPERM":
        problems.append("%s: want ret -1 EPERM, got ret %s errno %s" %
                        (what, e.get("ret"), e.get("errno")))
    if want != got:
        problems.append("%s: want %s, got %s" % (what, want, got))


def unix_hooks(d):
    """Whether the daemon enforces with the unix cgroup hooks (6.7+)."""
    return any("enforcing: cgroup hooks" in l and "connect_unix" in l and "sendmsg_unix" in l
               for l in d.log)


def main_policy(tmp):
    return {
        "name": "enforce-test",
        "default": "allow",
        "rules": [
            {"name": "allow-first", "action": "allow",
             "match": {"dst": ["127.0.0.1:%d" % P_ALLOWED_FIRST]}},
            {"name": "deny-range", "action": "deny",
             "match": {"dst": ["127.0.0.1:%d-%d" % (P_ALLOWED_FIRST, P_RANGE_DENIED)]}},
            {"name": "deny-udp", "action": "deny",
             "match": {"protocol": ["udp"], "dst": ["127.0.0.1:%d" % P_UDP,
                                                    "[::1]:%d" % P_UDP]}},
            {"name": "deny-tcp", "action": "deny",
             "match": {"protocol": ["tcp"], "port": [P_TCP, P_TFO]}},
            {"name": "deny-unix", "action": "deny",
             "match": {"unix": [tmp + "/deny.sock", tmp + "/deny-stream.sock"]}},
            {"name": "deny-abstract", "action": "deny",
             "match": {"unix": ["@" + ABS + "-deny", "@" + ABS + "-pfx*"]}},
            {"name": "deny-comm", "action": "deny",
             "match": {"comm": ["sgdenyme"], "port": [P_COMM]}},
            {"name": "deny-uid", "action": "deny",
             "match": {"uid": [65534], "port": [P_UID]}},
            {"name": "deny-exe", "action": "deny",
             "match": {"exe": [os.path.realpath(sys.executable)], "port": [P_EXE]}},
            {"name": "deny-flags", "action": "deny",
             "match": {"flags_any": ["MSG_DONTWAIT"], "port": [P_FLAGS]}},
            {"name": "big-allow", "action": "allow",
             "match": {"len_min": 1000, "port": [P_LEN]}},
            {"name": "deny-len", "action": "deny", "match": {"port": [P_LEN]}},
        ],
    }


MAIN_TESTS = ["udp4", "udp6", "v4-mapped", "sendmsg", "sendmmsg", "earlier-allow",
              "tcp4-connect", "tcp6-connect", "udp-connect", "unix-dgram",
              "unix-stream-connect", "unix-abstract", "comm", "uid", "exe",
              "observe-only-flags", "uncertain-allow-stops", "coverage", "coverage-sigusr2",
              "schema", "detach-on-exit", "verifier-budget"]

# The most instructions the verifier may walk to load any one sendguard program (it
# refuses a program past 1,000,000). The judging programs walk ~150,000 (the unix hooks
# ~200,000) since the evaluator's nested ORs became a global function; ~280,000-330,000
# before.
VERIFIER_BUDGET = 250_000


@suite.test(*MAIN_TESTS)
def test_main(res, ctx):
    """One daemon run with the main policy: most of the tests (one function each below)."""
    build, names = ctx.build, MAIN_TESTS
    tmp = tempfile.mkdtemp(prefix="sgenf")
    os.chmod(tmp, 0o755)
    socks = []
    # The cgroup hooks alone (BPF-LSM, where the kernel has it, would judge every send
    # first): test_lsm tests BPF-LSM.
    d = Daemon(build, tmp, main_policy(tmp), ["--no-lsm"])
    why = d.start()
    if why:
        for n in names:
            if res.wanted(n):
                res.report(n, [why])
        shutil.rmtree(tmp, ignore_errors=True)
        return
    me = os.getpid()
    r = {}
    try:
        for name in ("deny.sock", "allow.sock"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.bind(os.path.join(tmp, name))
            socks.append(s)
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind(os.path.join(tmp, "deny-stream.sock"))
        ls.listen(1)
        socks.append(ls)
        for name in ("-deny", "-pfx-1", "-ok"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.bind("\0" + ABS + name)
            socks.append(s)
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind("\0" + ABS + "-pfx-stream")
        ls.listen(1)
        socks.append(ls)

        r["udp4-deny"] = try_send(socket.AF_INET, ("127.0.0.1", P_UDP))
        r["udp4-allow"] = try_send(socket.AF_INET, ("127.0.0.1", P_FREE))
        r["udp6-deny"] = try_send(socket.AF_INET6, ("::1", P_UDP))
        r["udp6-allow"] = try_send(socket.AF_INET6, ("::1", P_FREE))
        r["mapped-deny"] = try_send(socket.AF_INET6, ("::ffff:127.0.0.1", P_UDP))
        m = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            m.sendmsg([b"ab", b"cd"], [], 0, ("127.0.0.1", P_UDP))
            r["sendmsg-deny"] = "ok"
        except OSError as e:
            r["sendmsg-deny"] = errno.errorcode.get(e.errno, str(e.errno))
        m.close()
        c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        c.connect(("127.0.0.1", P_FREE))
        r["connected-send"] = "ok" if c.send(b"xyz") == 3 else "short"
        c.close()
        r["mmsg-partial"] = sendmmsg_udp4([P_FREE, P_UDP])
        r["mmsg-first"] = sendmmsg_udp4([P_UDP, P_FREE])
        r["first-allow"] = try_send(socket.AF_INET, ("127.0.0.1", P_ALLOWED_FIRST))
        r["range-deny"] = try_send(socket.AF_INET, ("127.0.0.1", P_RANGE_DENIED))
        r["tcp4-deny"] = try_connect(socket.AF_INET, ("127.0.0.1", P_TCP))
        r["tcp4-free"] = try_connect(socket.AF_INET, ("127.0.0.1", P_FREE))
        r["tfo-deny"] = try_send(socket.AF_INET, ("127.0.0.1", P_TFO), b"tfo",
                                 socket.MSG_FASTOPEN, socket.SOCK_STREAM)
        r["tcp6-deny"] = try_connect(socket.AF_INET6, ("::1", P_TCP))
        r["udp-connect"] = try_connect(socket.AF_INET, ("127.0.0.1", P_UDP), socket.SOCK_DGRAM)
        r["unix-deny"] = try_send(socket.AF_UNIX, os.path.join(tmp, "deny.sock"))
        r["unix-allow"] = try_send(socket.AF_UNIX, os.path.join(tmp, "allow.sock"))
        r["unix-stream-deny"] = try_connect(socket.AF_UNIX, os.path.join(tmp, "deny-stream.sock"))
        r["abstract-deny"] = try_send(socket.AF_UNIX, "\0" + ABS + "-deny")
        r["abstract-prefix-deny"] = try_send(socket.AF_UNIX, "\0" + ABS + "-pfx-1")
        r["abstract-allow"] = try_send(socket.AF_UNIX, "\0" + ABS + "-ok")
        r["abstract-stream-deny"] = try_connect(socket.AF_UNIX, "\0" + ABS + "-pfx-stream")
        r["flags"] = try_send(socket.AF_INET, ("127.0.0.1", P_FLAGS), flags=socket.MSG_DONTWAIT)
        r["len-short"] = try_send(socket.AF_INET, ("127.0.0.1", P_LEN))
        comm_pid, comm_out = run_child("comm", P_COMM)
        uid_pid, uid_out = run_child("uid", P_UID)
        r["exe"] = try_send(socket.AF_INET, ("127.0.0.1", P_EXE))
        r["comm-parent"] = try_send(socket.AF_INET, ("127.0.0.1", P_COMM))
        r["uid-root"] = try_send(socket.AF_INET, ("127.0.0.1", P_UID))
        mark = len(d.log)
        d.proc.send_signal(signal.SIGUSR2)
        sigusr2_ok = d.wait_log("rule deny-udp", 5, mark)
        progs = bpfquery.process_programs(d.proc.pid)
    finally:
        events = d.finish()
        for s in socks:
            s.close()
    after = try_send(socket.AF_INET, ("127.0.0.1", P_UDP))
    shutil.rmtree(tmp, ignore_errors=True)

    def check(name, fn):
        if res.wanted(name):
            problems = []
            fn(problems)
            res.report(name, problems)

    def want(problems, key, value):
        if r.get(key) != value:
            problems.append("%s: want %s, got %s" % (key, value, r.get(key)))

    def t_udp4(p):
        want(p, "udp4-deny", "EPERM")
        want(p, "udp4-allow", "ok")
        expect_event(p, "denied event", find(events, me, lambda e: dst_port(P_UDP)(e) and
                                              e["dst"]["family"] == "inet"),
                     False, "deny", "cgroup", "deny-udp", syscall="sendto")
        expect_event(p, "allowed event", find(events, me, lambda e: dst_port(P_FREE)(e) and
                                               e["sock"]["family"] == "inet" and
                                               e["sock"]["type"] == "dgram"),
                     True, "allow", None, None)

    def t_udp6(p):
        want(p, "udp6-deny", "EPERM")
        want(p, "udp6-allow", "ok")
        expect_event(p, "denied event", find(events, me, lambda e: dst_port(P_UDP)(e) and
                                              e["dst"].get("addr") == "::1"),
                     False, "deny", "cgroup", "deny-udp")
        expect_event(p, "allowed event", find(events, me, lambda e: dst_port(P_FREE)(e) and
                                               e["dst"].get("addr") == "::1" and
                                               e["sock"]["type"] == "dgram"),
                     True, "allow", None, None)

    def t_sendmsg(p):
        want(p, "sendmsg-deny", "EPERM")
        want(p, "connected-send", "ok")
        expect_event(p, "sendmsg event",
                     find(events, me, lambda e: dst_port(P_UDP)(e) and
                          e.get("syscall") == "sendmsg"),
                     False, "deny", "cgroup", "deny-udp", syscall="sendmsg")
        expect_event(p, "connected send event",
                     find(events, me, lambda e: dst_port(P_FREE)(e) and
                          e.get("dst_source") == "peer" and e["sock"]["type"] == "dgram"),
                     True, "allow", None, None)

    def t_mmsg(p):
        want(p, "mmsg-partial", 1)
        want(p, "mmsg-first", "EPERM")
        mm = [e for e in events if e.get("proc", {}).get("pid") == me and
              e.get("syscall") == "sendmmsg" and e.get("index") is not None]
        part = [e for e in mm if e["index"] == 1 and dst_port(P_UDP)(e)]
        # The kernel drops the error of a message after a partial count: ret -1, errno null.
        if not part:
            p.append("no event for the denied second message")
        else:
            pol = part[0]["policy"]
            if (part[0]["ret"], pol["verdict"], pol["enforced_by"]) != (-1, "deny", "cgroup"):
                p.append("second message: ret %s policy %s" % (part[0]["ret"], pol))
        expect_event(p, "denied first message",
                     [e for e in mm if e["index"] == 0 and dst_port(P_UDP)(e)], False, "deny",
                     "cgroup", "deny-udp", syscall="sendmmsg")

    def t_mapped(p):
        want(p, "mapped-deny", "EPERM")
        expect_event(p, "mapped event",
                     find(events, me, lambda e: dst_port(P_UDP)(e) and
                          e["dst"].get("addr") == "::ffff:127.0.0.1"),
                     False, "deny", "cgroup", "deny-udp")

    def t_first(p):
        want(p, "first-allow", "ok")
        want(p, "range-deny", "EPERM")
        expect_event(p, "allowed by the earlier rule",
                     find(events, me, dst_port(P_ALLOWED_FIRST)), True, "allow", None,
                     "allow-first")
        expect_event(p, "denied by the range", find(events, me, dst_port(P_RANGE_DENIED)),
                     False, "deny", "cgroup", "deny-range")

    def t_tcp4(p):
        want(p, "tcp4-deny", "EPERM")
        want(p, "tcp4-free", "ECONNREFUSED")
        expect_event(p, "connect event",
                     find(events, me, lambda e: dst_port(P_TCP)(e) and
                          e["dst"]["family"] == "inet"),
                     False, "deny", "cgroup", "deny-tcp", etype="connect", syscall="connect")
        if find(events, me, lambda e: dst_port(P_FREE)(e) and e.get("type") == "connect"):
            p.append("an allowed connect produced a connect event")
        # TCP Fast Open: the connect inside the sendto is the send's denial, reported once.
        want(p, "tfo-deny", "EPERM")
        expect_event(p, "fast open send event",
                     find(events, me, lambda e: dst_port(P_TFO)(e)), False, "deny", "cgroup",
                     "deny-tcp", syscall="sendto")
        if find(events, me, lambda e: dst_port(P_TFO)(e) and e.get("type") == "connect"):
            p.append("the connect inside a Fast Open sendto got a connect event of its own")

    def t_tcp6(p):
        want(p, "tcp6-deny", "EPERM")
        expect_event(p, "connect event",
                     find(events, me, lambda e: dst_port(P_TCP)(e) and
                          e["dst"]["family"] == "inet6"),
                     False, "deny", "cgroup", "deny-tcp", etype="connect", syscall="connect")
        evs = find(events, me, lambda e: dst_port(P_TCP)(e) and e["dst"]["family"] == "inet6")
        if evs and evs[0].get("sock") != {"family": "inet6", "type": "stream",
                                           "protocol": "tcp"}:
            p.append("connect event sock: %s" % evs[0].get("sock"))

    def t_udp_connect(p):
        want(p, "udp-connect", "EPERM")
        expect_event(p, "udp connect event",
                     find(events, me, lambda e: dst_port(P_UDP)(e) and e["type"] == "connect"),
                     False, "deny", "cgroup", "deny-udp", etype="connect")

    def t_unix_dgram(p):
        path = os.path.join(tmp, "deny.sock")
        want(p, "unix-allow", "ok")
        want(p, "unix-deny", "EPERM")
        expect_event(p, "denied unix event",
                     find(events, me, lambda e: (e.get("dst") or {}).get("path") == path),
                     False, "deny", "cgroup", "deny-unix")

    def t_abstract(p):
        want(p, "abstract-deny", "EPERM")
        want(p, "abstract-prefix-deny", "EPERM")
        want(p, "abstract-allow", "ok")
        want(p, "abstract-stream-deny", "EPERM")
        expect_event(p, "denied abstract event",
                     find(events, me, lambda e: (e.get("dst") or {}).get("abstract") ==
                          ABS + "-deny"),
                     False, "deny", "cgroup", "deny-abstract")
        expect_event(p, "abstract connect event",
                     find(events, me, lambda e: (e.get("dst") or {}).get("abstract") ==
                          ABS + "-pfx-stream"),
                     False, "deny", "cgroup", "deny-abstract", etype="connect")

    def t_unix_stream(p):
        path = os.path.join(tmp, "deny-stream.sock")
        want(p, "unix-stream-deny", "EPERM")
        expect_event(p, "unix connect event",
                     find(events, me, lambda e: (e.get("dst") or {}).get("path") == path),
                     False, "deny", "cgroup", "deny-unix", etype="connect")

    def t_comm(p):
        if comm_out != ["EPERM"]:
            p.append("child with comm sgdenyme: want EPERM, got %s" % comm_out)
        want(p, "comm-parent", "ok")
        expect_event(p, "child event", find(events, comm_pid, dst_port(P_COMM)), False, "deny",
                     "cgroup", "deny-comm")
        evs = find(events, comm_pid, dst_port(P_COMM))
        if evs and evs[0]["proc"]["comm"] != "sgdenyme":
            p.append("child comm %r" % evs[0]["proc"]["comm"])

    def t_exe(p):
        want(p, "exe", "EPERM")
        expect_event(p, "exe event", find(events, me, dst_port(P_EXE)), False, "deny", "cgroup",
                     "deny-exe")

    def t_uid(p):
        if uid_out != ["EPERM"]:
            p.append("child with uid 65534: want EPERM, got %s" % uid_out)
        want(p, "uid-root", "ok")
        expect_event(p, "child event", find(events, uid_pid, dst_port(P_UID)), False, "deny",
                     "cgroup", "deny-uid")

    def t_flags(p):
        # flags_any is invisible to the cgroup hooks: observed, not enforced (no BPF-LSM).
        lsm = not any("BPF-LSM socket_sendmsg unavailable" in l for l in d.log)
        want(p, "flags", "EPERM" if lsm else "ok")
        expect_event(p, "flags event", find(events, me, dst_port(P_FLAGS)), not lsm, "deny",
                     "lsm" if lsm else None, "deny-flags")

    def t_len(p):
        # big-allow (len_min) might match as far as a hook can tell: it lets the send
        # through; the full policy then says deny-len, which is observed only.
        lsm = not any("BPF-LSM socket_sendmsg unavailable" in l for l in d.log)
        want(p, "len-short", "EPERM" if lsm else "ok")
        expect_event(p, "len event", find(events, me, dst_port(P_LEN)), not lsm, "deny",
                     "lsm" if lsm else None, "deny-len")

    def t_coverage(p):
        log = "\n".join(d.log)
        for rule, text in (("deny-udp", "cgroup / (connect, unconnected sendmsg: inet inet6)"),
                           ("deny-unix", "cgroup / (connect, unconnected sendmsg: unix)"
                            if unix_hooks(d) else "observe-only"),
                           ("deny-comm", "cgroup /"),
                           ("deny-flags", "observe-only" if "BPF-LSM socket_sendmsg "
                            "unavailable" in log else "lsm"),
                           ("allow-first", "nothing to enforce"),
                           ("default", "nothing to enforce")):
            line = [l for l in d.log if ("rule %s (" % rule in l or
                                         (rule == "default" and "  default (" in l))]
            if not line:
                p.append("no coverage line for %s" % rule)
            elif text not in line[0]:
                p.append("coverage of %s: %r lacks %r" % (rule, line[0], text))
        if "BPF-LSM socket_sendmsg unavailable" in log:
            n = sum("BPF-LSM socket_sendmsg unavailable" in l for l in d.log)
            if n != 1:
                p.append("LSM unavailability logged %d times" % n)

    def t_sigusr2(p):
        if not sigusr2_ok:
            p.append("no coverage report after SIGUSR2")

    def t_schema(p):
        validator, reason = expect.load_validator(os.path.join(ROOT, "docs",
                                                               "event.schema.json"))
        if not validator:
            p.append(reason)
            return
        pids = {me, comm_pid, uid_pid}
        mine = [e for e in events if e.get("proc", {}).get("pid") in pids]
        if not any(e.get("type") == "connect" for e in mine):
            p.append("no connect event to check")
        p.extend(validator.check_all(mine))

    def t_budget(p):
        ours = {name: n for name, n in progs.values() if name.startswith("sg_")}
        if not any(n.startswith("sg_exit_send") for n in ours):
            p.append(f"no tracing program among the daemon's programs: {sorted(ours)}")
        if not any(n.startswith("sg_sendmsg4") for n in ours):
            p.append(f"no enforcement hook among the daemon's programs: {sorted(ours)}")
        for name, n in sorted(ours.items()):
            if n > VERIFIER_BUDGET:
                p.append(f"{name}: the verifier walked {n} instructions (budget "
                         f"{VERIFIER_BUDGET})")
        print("    verified instructions: " +
              ", ".join(f"{k} {v}" for k, v in sorted(ours.items())), flush=True)

    def t_detach(p):
        if after != "ok":
            p.append("send to the denied port after the daemon exited: %s" % after)

    check("udp4", t_udp4)
    check("udp6", t_udp6)
    check("v4-mapped", t_mapped)
    check("sendmsg", t_sendmsg)
    check("sendmmsg", t_mmsg)
    check("earlier-allow", t_first)
    check("tcp4-connect", t_tcp4)
    check("tcp6-connect", t_tcp6)
    check("udp-connect", t_udp_connect)
    if unix_hooks(d):
        check("unix-dgram", t_unix_dgram)
        check("unix-stream-connect", t_unix_stream)
        check("unix-abstract", t_abstract)
    else:
        res.skip("unix-dgram", "connect_unix/sendmsg_unix hooks unavailable on this kernel")
        res.skip("unix-stream-connect", "connect_unix/sendmsg_unix hooks unavailable")
        res.skip("unix-abstract", "connect_unix/sendmsg_unix hooks unavailable")
    check("comm", t_comm)
    check("uid", t_uid)
    check("exe", t_exe)
    check("observe-only-flags", t_flags)
    check("uncertain-allow-stops", t_len)
    check("coverage", t_coverage)
    check("coverage-sigusr2", t_sigusr2)
    check("schema", t_schema)
    check("detach-on-exit", t_detach)
    if any(n for _, n in progs.values()):
        check("verifier-budget", t_budget)
    else:
        res.skip("verifier-budget", "the kernel does not report verified_insns (before 5.16)")


@suite.test("reload")
def test_reload(res, ctx):
    """A SIGHUP reload goes through the slot swap and the hooks follow it."""
    build = ctx.build
    if not res.wanted("reload"):
        return
    tmp = tempfile.mkdtemp(prefix="sgenf")
    pol = lambda port: {"name": "reload", "default": "allow",
                        "rules": [{"name": "deny-%d" % port, "action": "deny",
                                   "match": {"dst": ["127.0.0.1:%d" % port]}}]}
    d = Daemon(build, tmp, pol(P_RELOAD_A), ["--no-lsm"])
    why = d.start()
    problems = []
    if why:
        res.report("reload", [why])
        return
    try:
        a1 = try_send(socket.AF_INET, ("127.0.0.1", P_RELOAD_A))
        b1 = try_send(socket.AF_INET, ("127.0.0.1", P_RELOAD_B))
        d.write_policy(pol(P_RELOAD_B))
        mark = len(d.log)
        d.proc.send_signal(signal.SIGHUP)
        if not d.wait_log("version 2 in force", 10, mark):
            problems.append("reload not logged")
        a2 = try_send(socket.AF_INET, ("127.0.0.1", P_RELOAD_A))
        b2 = try_send(socket.AF_INET, ("127.0.0.1", P_RELOAD_B))
    finally:
        events = d.finish()
        shutil.rmtree(tmp, ignore_errors=True)
    if (a1, b1, a2, b2) != ("EPERM", "ok", "ok", "EPERM"):
        problems.append("before/after reload: A %s->%s, B %s->%s (want EPERM->ok, ok->EPERM)" %
                        (a1, a2, b1, b2))
    evs = find(events, os.getpid(), dst_port(P_RELOAD_B))
    if len(evs) == 2:
        expect_event(problems, "B after reload", evs[1:], False, "deny", "cgroup",
                     "deny-%d" % P_RELOAD_B)
        if evs[1]["policy"]["version"] != 2:
            problems.append("B after reload judged by version %s" %
                            evs[1]["policy"]["version"])
    else:
        problems.append("want 2 events to B, got %d" % len(evs))
    res.report("reload", problems)


@suite.test("default-deny-cgroup")
def test_default_deny_cgroup(res, ctx):
    """Default deny with an allow-list, enforced in a cgroup of the test's own (--cgroup)."""
    build = ctx.build
    if not res.wanted("default-deny-cgroup"):
        return
    if not harness.cgroup2_mount():
        res.skip("default-deny-cgroup", "no cgroup v2 mount")
        return
    cgroup = harness.Cgroup("enforce-test").create()
    rel, cg = cgroup.rel, cgroup.path
    tmp = tempfile.mkdtemp(prefix="sgenf")
    policy = {"name": "allow-list", "default": "deny",
              "rules": [{"name": "free", "action": "allow",
                         "match": {"dst": ["127.0.0.1:%d" % P_FREE]}}]}
    d = Daemon(build, tmp, policy, ["--cgroup", rel])
    problems = []
    why = d.start()
    if why:
        res.report("default-deny-cgroup", [why])
        cgroup.remove()
        return
    try:
        pid, out = run_child("cgroup:" + cg, P_UDP, P_FREE)
        outside = try_send(socket.AF_INET, ("127.0.0.1", P_UDP))
    finally:
        events = d.finish()
        shutil.rmtree(tmp, ignore_errors=True)
        why = cgroup.remove()
        if why:
            problems.append(why)
    if out != ["EPERM", "ok"]:
        problems.append("in the cgroup: want EPERM (default) then ok (allow-list), got %s" % out)
    if outside != "ok":
        problems.append("outside the cgroup: want ok, got %s" % outside)
    # BPF-LSM, where the kernel has it, judges first: it must be scoped to --cgroup too.
    expect_event(problems, "default deny event", find(events, pid, dst_port(P_UDP)), False,
                 "deny", "lsm" if lsm_attached(d) else "cgroup", None)
    evs = find(events, pid, dst_port(P_UDP))
    if evs and evs[0]["policy"]["rule"] is not None:
        problems.append("default deny event names rule %s" % evs[0]["policy"]["rule"])
    expect_event(problems, "allow-list event", find(events, pid, dst_port(P_FREE)), True,
                 "allow", None, "free")
    # Outside the cgroup the tracepoint still judges deny, but nothing enforced it.
    expect_event(problems, "outside event", find(events, os.getpid(), dst_port(P_UDP)), True,
                 "deny", None, None)
    if not any("on cgroup %s" % rel in l for l in d.log):
        problems.append("the log does not name the cgroup")
    res.report("default-deny-cgroup", problems)


@suite.test("default-deny-host")
def test_default_deny_host(res, ctx):
    """Default deny for the whole host, kept short, with loopback and unix allowed."""
    build = ctx.build
    if not res.wanted("default-deny-host"):
        return
    tmp = tempfile.mkdtemp(prefix="sgenf")
    policy = {"name": "host-allow-list", "default": "deny",
              "rules": [
                  {"name": "deny-udp", "action": "deny",
                   "match": {"dst": ["127.0.0.1:%d" % P_UDP]}},
                  {"name": "loopback", "action": "allow",
                   "match": {"dst": ["127.0.0.0/8", "::1/128", "::ffff:127.0.0.0/104"]}},
                  {"name": "local", "action": "allow",
                   "match": {"family": ["unix", "netlink", "packet"]}},
              ]}
    d = Daemon(build, tmp, policy, ["--no-lsm"])
    problems = []
    why = d.start()
    if why:
        res.report("default-deny-host", [why])
        return
    try:
        lo = try_send(socket.AF_INET, ("127.0.0.1", P_FREE))
        denied = try_send(socket.AF_INET, ("127.0.0.1", P_UDP))
        # TEST-NET-1: never routed; the default denies it before routing.
        outside = try_send(socket.AF_INET, ("192.0.2.1", P_FREE))
    finally:
        events = d.finish()
        shutil.rmtree(tmp, ignore_errors=True)
    if (lo, denied, outside) != ("ok", "EPERM", "EPERM"):
        problems.append("loopback %s (want ok), denied port %s (want EPERM), 192.0.2.1 %s "
                        "(want EPERM)" % (lo, denied, outside))
    expect_event(problems, "default deny event",
                 find(events, os.getpid(), lambda e: (e.get("dst") or {}).get("addr") ==
                      "192.0.2.1"), False, "deny", "cgroup", None)
    res.report("default-deny-host", problems)


def sendguard_hooks():
    """The sendguard cgroup programs attached to the cgroup v2 root, by hook ("sg_" + hook,
    one entry per program)."""
    return ["sg_" + h for h in bpfquery.sendguard_hooks(harness.cgroup2_mount())]


@suite.test("hooks-follow-policy")
def test_hooks_follow_policy(res, ctx):
    """The cgroup hooks are attached only while the policy in force can deny.

    Observe policy: none attached. Reload to a deny rule: attached before the switch, the
    send is denied. Reload to a policy whose only deny rule uses a key the hooks cannot see
    (flags): detached again. Back to allow-only: still none, and the send goes through."""
    build = ctx.build
    if not res.wanted("hooks-follow-policy"):
        return
    tmp = tempfile.mkdtemp(prefix="sgenf")
    allow = {"name": "allow-only", "default": "allow",
             "rules": [{"name": "audit-it", "action": "audit",
                        "match": {"dst": ["127.0.0.1:%d" % P_FOLLOW]}}]}
    deny = {"name": "deny-it", "default": "allow",
            "rules": [{"name": "deny-follow", "action": "deny",
                       "match": {"dst": ["127.0.0.1:%d" % P_FOLLOW]}}]}
    flags_only = {"name": "flags-only", "default": "allow",
                  "rules": [{"name": "deny-oob", "action": "deny",
                             "match": {"flags_any": ["MSG_OOB"]}}]}
    d = Daemon(build, tmp, allow, ["--no-lsm"])
    why = d.start()
    problems = []
    if why:
        res.report("hooks-follow-policy", [why])
        return
    seen = []
    try:
        def step(policy, version):
            mark = len(d.log)
            d.write_policy(policy)
            d.proc.send_signal(signal.SIGHUP)
            if not d.wait_log("version %d in force" % version, 10, mark):
                problems.append("reload to %s not logged" % policy["name"])
            time.sleep(0.2)

        seen.append(("allow-only", sendguard_hooks(),
                     try_send(socket.AF_INET, ("127.0.0.1", P_FOLLOW))))
        step(deny, 2)
        seen.append(("deny-it", sendguard_hooks(),
                     try_send(socket.AF_INET, ("127.0.0.1", P_FOLLOW))))
        step(flags_only, 3)
        seen.append(("flags-only", sendguard_hooks(),
                     try_send(socket.AF_INET, ("127.0.0.1", P_FOLLOW))))
        step(allow, 4)
        seen.append(("allow-only again", sendguard_hooks(),
                     try_send(socket.AF_INET, ("127.0.0.1", P_FOLLOW))))
    except RuntimeError as e:
        problems.append(str(e))
    finally:
        events = d.finish()
        shutil.rmtree(tmp, ignore_errors=True)
    want = {"allow-only": (False, "ok"), "deny-it": (True, "EPERM"),
            "flags-only": (False, "ok"), "allow-only again": (False, "ok")}
    for name, hooks, result in seen:
        attached, outcome = want[name]
        if bool(hooks) != attached:
            problems.append("policy %s: sendguard cgroup programs attached: %s (want %s)" %
                            (name, hooks or "none", "some" if attached else "none"))
        if attached and "sg_sendmsg4" not in hooks:
            problems.append("policy %s: sg_sendmsg4 not among %s" % (name, hooks))
        if result != outcome:
            problems.append("policy %s: send %s, want %s" % (name, result, outcome))
    if len(seen) != 4:
        problems.append("only %d of 4 steps ran" % len(seen))
    evs = find(events, os.getpid(), dst_port(P_FOLLOW))
    if len(evs) == 4:
        expect_event(problems, "denied send", evs[1:2], False, "deny", "cgroup", "deny-follow")
        expect_event(problems, "flags-only send", evs[2:3], True, "allow", None, None)
    else:
        problems.append("want 4 events to port %d, got %d" % (P_FOLLOW, len(evs)))
    if not any("enforcement hooks not attached: policy allow-only version 1 cannot deny" in l
               for l in d.log):
        problems.append("the log does not say the hooks are not attached")
    res.report("hooks-follow-policy", problems)


@suite.test("lsm")
def test_lsm(res, ctx):
    """BPF-LSM socket_sendmsg: where the kernel has it, every kind of deny rule fails the send
    with EPERM host-wide (flags, control messages, length, destination), the events say
    "enforced_by":"lsm" and the coverage report and status say lsm. Where it is
    unavailable the test is skipped, unless SENDGUARD_EXPECT_LSM=1 (make test-kernels on
    kernels with BPF-LSM active), where that is a failure."""
    build = ctx.build
    if not res.wanted("lsm"):
        return
    tmp = tempfile.mkdtemp(prefix="sgenf")
    upath = os.path.join(tmp, "lsm.sock")
    policy = {"name": "lsm", "default": "allow",
              "rules": [{"name": "deny-flags", "action": "deny",
                         "match": {"flags_any": ["MSG_DONTWAIT"], "port": [P_FLAGS]}},
                        {"name": "deny-len", "action": "deny",
                         "match": {"len_min": 100, "port": [P_LSM_LEN]}},
                        {"name": "deny-cmsg", "action": "deny",
                         "match": {"cmsg": ["SCM_RIGHTS"], "unix": [upath]}},
                        {"name": "deny-dst", "action": "deny",
                         "match": {"dst": ["127.0.0.1:%d" % P_LSM_DST]}}]}
    # A TCP connection to the denied destination made before the daemon starts: no
    # connect hook judged it, so only the peer of its sends can (a forged address must not
    # get them through).
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("127.0.0.1", P_LSM_DST))
    lst.listen(1)
    early = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    early.connect(("127.0.0.1", P_LSM_DST))
    d = Daemon(build, tmp, policy)
    why = d.start()
    if why:
        res.report("lsm", [why])
        shutil.rmtree(tmp, ignore_errors=True)
        early.close()
        lst.close()
        return
    unavailable = [l for l in d.log if "BPF-LSM socket_sendmsg unavailable" in l]
    results = {}
    status = None
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        rx.bind(upath)
        status = ctl.request(CONTROL, {"cmd": "status"})
        results["flags"] = try_send(socket.AF_INET, ("127.0.0.1", P_FLAGS),
                                    flags=socket.MSG_DONTWAIT)
        results["flags-clear"] = try_send(socket.AF_INET, ("127.0.0.1", P_FLAGS))
        results["len"] = try_send(socket.AF_INET, ("127.0.0.1", P_LSM_LEN), data=b"L" * 200)
        results["len-short"] = try_send(socket.AF_INET, ("127.0.0.1", P_LSM_LEN), data=b"s")
        results["write-len"] = try_path("write", ("127.0.0.1", P_LSM_LEN), 201)
        results["sendfile-len"] = try_path("sendfile", ("127.0.0.1", P_LSM_LEN), 202)
        pr, pw = os.pipe()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            s.sendmsg([b"fd"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                 array.array("i", [pr]).tobytes())], 0, upath)
            results["cmsg"] = "ok"
        except OSError as e:
            results["cmsg"] = errno.errorcode.get(e.errno, str(e.errno))
        finally:
            os.close(pr)
            os.close(pw)
        try:
            s.sendto(b"plain", upath)
            results["cmsg-none"] = "ok"
        except OSError as e:
            results["cmsg-none"] = errno.errorcode.get(e.errno, str(e.errno))
        s.close()
        results["dst"] = try_send(socket.AF_INET, ("127.0.0.1", P_LSM_DST))
        try:
            early.sendto(b"forged", ("127.0.0.1", P_FREE))
            results["forged"] = "ok"
        except OSError as e:
            results["forged"] = errno.errorcode.get(e.errno, str(e.errno))
    finally:
        early.close()
        lst.close()
        rx.close()
        events = d.finish()
        shutil.rmtree(tmp, ignore_errors=True)
    if unavailable:
        why = "BPF-LSM not available here: " + unavailable[0].split(": ", 1)[-1]
        if os.environ.get("SENDGUARD_EXPECT_LSM") == "1":
            res.report("lsm", [why + " (SENDGUARD_EXPECT_LSM=1: this kernel must have it)"])
        else:
            res.skip("lsm", why)
        return
    problems = []
    # Before 6.5 a sendfile reaches the socket by its sendpage: traced, but no hook denies it.
    sendpage = sendpage_kernel()
    want = {"flags": "EPERM", "flags-clear": "ok", "len": "EPERM", "len-short": "ok",
            "write-len": "EPERM", "sendfile-len": "ok" if sendpage else "EPERM",
            "cmsg": "EPERM", "cmsg-none": "ok", "dst": "EPERM", "forged": "EPERM"}
    for k, v in want.items():
        if results.get(k) != v:
            problems.append("%s send: want %s, got %s" % (k, v, results.get(k)))
    me = os.getpid()
    expect_event(problems, "flags deny", find(events, me, lambda e: dst_port(P_FLAGS)(e) and
                                              "MSG_DONTWAIT" in e.get("flags", [])),
                 False, "deny", "lsm", "deny-flags")
    expect_event(problems, "len deny", find(events, me, lambda e: dst_port(P_LSM_LEN)(e) and
                                            e.get("len") == 200),
                 False, "deny", "lsm", "deny-len")
    expect_event(problems, "write() len deny", find(events, me, lambda e: dst_port(P_LSM_LEN)(e)
                                                    and e.get("len") == 201 and
                                                    e.get("syscall") == "write"),
                 False, "deny", "lsm", "deny-len")
    expect_event(problems, "sendfile() len deny", find(events, me, lambda e: dst_port(
        P_LSM_LEN)(e) and e.get("len") == 202 and e.get("syscall") == "sendfile"),
                 sendpage, "deny", None if sendpage else "lsm", "deny-len")
    expect_event(problems, "cmsg deny", find(events, me, lambda e: (e.get("dst") or {}).get(
        "path") == upath and e.get("control")), False, "deny", "lsm", "deny-cmsg")
    expect_event(problems, "dst deny", find(events, me, dst_port(P_LSM_DST)), False, "deny",
                 "lsm", "deny-dst")
    forged = find(events, me, lambda e: (e.get("sock") or {}).get("protocol") == "tcp" and
                  e.get("len") == 6)
    expect_event(problems, "forged-destination deny", forged, False, "deny", "lsm", "deny-dst")
    if forged and ((forged[0].get("dst") or {}).get("port"), forged[0].get("dst_source")) != \
            (P_LSM_DST, "peer"):
        problems.append("forged-destination send: dst %s (%s), want the peer port %d" % (
            forged[0].get("dst"), forged[0].get("dst_source"), P_LSM_DST))
    for rule in ("deny-flags", "deny-len", "deny-cmsg", "deny-dst"):
        if not any("rule %s (deny): lsm" % rule in l for l in d.log):
            problems.append("coverage report: rule %s not enforced by lsm" % rule)
        cov = [c for c in (status or {}).get("coverage", []) if c.get("rule") == rule]
        if not cov or not str(cov[0].get("enforced_by", cov[0])).startswith("lsm"):
            problems.append("status coverage of %s: %s, want lsm" % (rule, cov))
    if (status or {}).get("enforcement", {}).get("lsm") != "attached":
        problems.append("status says BPF-LSM is %r, want attached" %
                        (status or {}).get("enforcement", {}).get("lsm"))
    res.report("lsm", problems)


SPELL_CHILD = r"""
import errno, json, os, socket, sys
os.chdir(sys.argv[1])
out = {}
for kind, spellings in json.loads(sys.argv[2]).items():
    for name, path in spellings.items():
        s = socket.socket(socket.AF_UNIX,
                          socket.SOCK_DGRAM if kind == "dgram" else socket.SOCK_STREAM)
        try:
            if kind == "dgram":
                s.sendto(b"spelling-" + name.encode(), path)
            else:
                s.connect(path)
            out[kind + ":" + name] = "ok"
        except OSError as e:
            out[kind + ":" + name] = errno.errorcode.get(e.errno, str(e.errno))
        s.close()
print(json.dumps([os.getpid(), out]), flush=True)
"""


@suite.test("unix-spellings")
def test_unix_spellings(res, ctx):
    """A unix path rule means the socket file, not its spelling. With BPF-LSM every spelling
    (//, ., .., relative, /proc/self/cwd, a symlink) of a denied socket is denied and its event
    names the socket reached (dst_source resolved); with the cgroup unix hooks alone a
    spelling they cannot judge is refused (reason in the event) and a symlink, which looks
    like any path, is not seen; with neither, nothing is enforced. In every case the event
    says what the kernel did."""
    build = ctx.build
    if not res.wanted("unix-spellings"):
        return
    tmp = tempfile.mkdtemp(prefix="sgsp")
    os.chmod(tmp, 0o755)
    u = os.path.join(tmp, "u")
    os.mkdir(u)
    os.symlink(u, os.path.join(tmp, "link"))
    dg, st = os.path.join(u, "dgram.sock"), os.path.join(u, "stream.sock")
    policy = {"name": "unix-spellings", "default": "allow",
              "rules": [{"name": "deny-unix", "action": "deny", "match": {"unix": [dg, st]}}]}
    socks = []
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(dg)
    lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lst.bind(st)
    lst.listen(16)
    socks += [rx, lst]

    def spellings(name):
        return {"exact": os.path.join(u, name), "double-slash": tmp + "//u/" + name,
                "dot": tmp + "/./u/" + name, "dotdot": tmp + "/u/../u/" + name,
                "relative": "u/" + name, "proc-cwd": "/proc/self/cwd/u/" + name,
                "symlink": os.path.join(tmp, "link", name)}

    d = Daemon(build, tmp, policy)
    why = d.start()
    if why:
        res.report("unix-spellings", [why])
        shutil.rmtree(tmp, ignore_errors=True)
        return
    try:
        out = subprocess.run([sys.executable, "-c", SPELL_CHILD, tmp,
                              json.dumps({"dgram": spellings("dgram.sock"),
                                          "stream": spellings("stream.sock")})],
                             capture_output=True, text=True, timeout=60)
        pid, got = json.loads(out.stdout)
    finally:
        events = d.finish()
        for s in socks:
            s.close()
    lsm, hooks = lsm_attached(d), unix_hooks(d)
    shutil.rmtree(tmp, ignore_errors=True)
    problems = []
    mine = [e for e in events if e.get("proc", {}).get("pid") == pid]
    for kind, path in (("dgram", dg), ("stream", st)):
        for name in spellings(""):
            r = got.get(kind + ":" + name)
            if lsm:
                want = "EPERM"
            elif hooks:
                want = "ok" if name == "symlink" else "EPERM"
            else:
                want = "ok" if kind == "dgram" else "ok"
            if r != want:
                problems.append("%s %s: %s, want %s (%s)" % (
                    kind, name, r, want, "BPF-LSM" if lsm else "cgroup unix hooks" if hooks
                    else "no unix enforcement"))
    # Every event agrees with what the kernel did; BPF-LSM names the socket reached.
    for e in mine:
        pol, r = e.get("policy") or {}, e.get("errno")
        if (r == "EPERM") != (pol.get("enforced_by") is not None):
            problems.append("seq %d: errno %s but enforced_by %s" % (e["seq"], r,
                                                                      pol.get("enforced_by")))
        if r == "EPERM" and pol.get("verdict") != "deny":
            problems.append("seq %d: EPERM with verdict %s" % (e["seq"], pol.get("verdict")))
        # (The cgroup unix hooks, where they exist, deny the exact spelling first.)
        if pol.get("enforced_by") == "lsm" and e.get("type") == "send" and (
                (e.get("dst") or {}).get("path") not in (dg, st) or
                e.get("dst_source") != "resolved"):
            problems.append("seq %d: dst %s (%s), want the socket reached, resolved" % (
                e["seq"], e.get("dst"), e.get("dst_source")))
        if lsm and e.get("type") == "connect" and (e.get("dst") or {}).get("path") != st:
            problems.append("seq %d: connect event dst %s, want %s" % (e["seq"], e.get("dst"),
                                                                      st))
        if not lsm and hooks and r == "EPERM" and pol.get("rule") is None and \
                pol.get("reason") != "unix path spelling the hooks cannot judge":
            problems.append("seq %d: refused spelling without its reason: %s" % (e["seq"],
                                                                               pol))
    if not [e for e in mine if e.get("type") == "send"]:
        problems.append("no send events of the spelling child")
    res.report("unix-spellings", problems)


@suite.test("no-enforce")
def test_no_enforce(res, ctx):
    """--no-enforce: the same deny is judged and reported, not enforced."""
    build = ctx.build
    if not res.wanted("no-enforce"):
        return
    tmp = tempfile.mkdtemp(prefix="sgenf")
    policy = {"name": "observe", "default": "allow",
              "rules": [{"name": "deny-udp", "action": "deny",
                         "match": {"dst": ["127.0.0.1:%d" % P_UDP]}}]}
    d = Daemon(build, tmp, policy, ["--no-enforce"])
    why = d.start()
    if why:
        res.report("no-enforce", [why])
        return
    try:
        r = try_send(socket.AF_INET, ("127.0.0.1", P_UDP))
    finally:
        events = d.finish()
        shutil.rmtree(tmp, ignore_errors=True)
    problems = []
    if r != "ok":
        problems.append("want ok, got %s" % r)
    expect_event(problems, "observed deny", find(events, os.getpid(), dst_port(P_UDP)), True,
                 "deny", None, "deny-udp")
    if not any("rule deny-udp (deny): observe-only (--no-enforce)" in l for l in d.log):
        problems.append("coverage does not say observe-only")
    res.report("no-enforce", problems)


def control_ask(req, timeout=5):
    """One request to the daemon's control socket, its reply."""
    c = socket.socket(socket.AF_UNIX)
    c.settimeout(timeout)
    try:
        c.connect(CONTROL)
        c.sendall(json.dumps(req).encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            d = c.recv(65536)
            if not d:
                break
            buf += d
        return json.loads(buf)
    finally:
        c.close()


@suite.test("cgroup-option")
def test_cgroup_option(res, ctx):
    """--cgroup fails closed: a cgroup that does not exist is a start-up error (exit 1); the
    full path under the cgroup v2 mount works like the mount-relative one; a reload whose
    hooks can no longer attach (the cgroup was removed) is refused, the policy in force
    stays, and status never claims more than is enforced."""
    build = ctx.build
    name = "cgroup-option"
    if not res.wanted(name):
        return
    mnt = harness.cgroup2_mount()
    if not mnt:
        res.skip(name, "no cgroup v2 mount")
        return
    problems = []
    tmp = tempfile.mkdtemp(prefix="sgenf")
    deny = {"name": "cg-deny", "default": "allow",
            "rules": [{"name": "deny-udp", "action": "deny",
                       "match": {"dst": ["127.0.0.1:%d" % P_UDP]}}]}
    allow = {"name": "cg-allow", "default": "allow", "rules": []}
    cgroup = harness.Cgroup("cgroup-option", mnt)
    rel, cg = cgroup.rel, cgroup.path
    try:
        for arg in ("/sendguard-no-such-cgroup", mnt + "/sendguard-no-such-cgroup"):
            d = Daemon(build, tmp, deny, ["--cgroup", arg])
            d.start()
            d.stop()
            if d.proc.returncode != 1 or \
                    not any("--cgroup %s: no such cgroup" % arg in l for l in d.log):
                problems.append("--cgroup %s: exit %s, log %s" % (arg, d.proc.returncode,
                                                                 d.log[-3:]))
        os.mkdir(cg)
        d = Daemon(build, tmp, deny, ["--cgroup", cg])  # the full path
        why = d.start()
        if why:
            problems.append("--cgroup %s (full path): %s" % (cg, why))
            return
        try:
            pid, out = run_child("cgroup:" + cg, P_UDP)
            if out != ["EPERM"]:
                problems.append("--cgroup %s: send in the cgroup: %s, want EPERM" % (cg, out))
            st = control_ask({"cmd": "status"})["enforcement"]
            if st.get("enforce") is not True or st.get("cgroup") != rel:
                problems.append("status enforcement %s, want enforce true, cgroup %s" %
                                (st, rel))
            # A policy that cannot deny: the hooks go; then the cgroup goes.
            d.write_policy(allow)
            n = len(d.log)
            d.proc.send_signal(signal.SIGHUP)
            if not d.wait_log("enforcement hooks not attached", start=n):
                problems.append("the hooks were not detached under a policy that cannot deny")
            os.rmdir(cg)
            d.write_policy(deny)
            r = control_ask({"cmd": "policy_load", "path": d.policy_path})
            errs = " ".join(r.get("errors") or [])
            if r.get("ok") is not False or "cannot enforce this policy" not in errs or \
                    rel not in errs:
                problems.append("policy_load of a deny policy with the cgroup gone: %s" % r)
            n = len(d.log)
            d.proc.send_signal(signal.SIGHUP)
            if not d.wait_log("policy refused", start=n):
                problems.append("SIGHUP to a deny policy with the cgroup gone was not refused")
            pol = control_ask({"cmd": "status"})["policy"]
            if (pol["name"], pol["version"]) != ("cg-allow", 2):
                problems.append("policy in force after the refusals: %s, want cg-allow 2" % pol)
        finally:
            events = d.finish()
        if d.proc.returncode != 0:
            problems.append("exit status %s" % d.proc.returncode)
        refused = [e for e in events if e.get("type") == "policy" and e["result"] == "refused"]
        if len(refused) != 2 or not all(
                any("cannot enforce this policy" in x for x in e["errors"]) for e in refused):
            problems.append("refused policy records: %s" % [e.get("errors") for e in refused])
    finally:
        cgroup.remove()
        shutil.rmtree(tmp, ignore_errors=True)
        res.report(name, problems)


PIDNS_TARGET = r"""
import errno, os, socket, sys
print(os.getpid(), flush=True)
sys.stdin.readline()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(b"x", ("127.0.0.1", int(sys.argv[1])))
    print("ok", flush=True)
except OSError as e:
    print(errno.errorcode[e.errno], flush=True)
"""


def nspids(pid):
    """The NSpid fields of a process (outermost first), [] if it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("NSpid:"):
                    return [int(x) for x in line.split()[1:]]
    except OSError:
        pass
    return []


@suite.test("pid-namespace")
def test_pid_namespace(res, ctx):
    """The daemon in a PID namespace of its own, where its pid is the pid a host process has:
    that host process is still traced and its denied send still fails (the self filters use
    the daemon's pid as the kernel sees it, not getpid()), and the daemon's own sends are
    still left out."""
    build = ctx.build
    name = "pid-namespace"
    if not res.wanted(name):
        return
    tmp = tempfile.mkdtemp(prefix="sgenf")
    target = subprocess.Popen([sys.executable, "-c", PIDNS_TARGET, str(P_PIDNS)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    host = int(target.stdout.readline())
    policy = {"name": "pidns", "default": "allow",
              "rules": [{"name": "deny-pidns", "action": "deny",
                         "match": {"dst": ["127.0.0.1:%d" % P_PIDNS]}}]}
    d = Daemon(build, tmp, policy, ["--no-lsm"])  # the cgroup hooks' self filter
    # In the new namespace sh is pid 1; the daemon it starts gets the pid after
    # ns_last_pid: the host process's. Whatever is left when unshare goes is killed.
    d.args = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "sh", "-c",
              'echo "$1" > /proc/sys/kernel/ns_last_pid; shift; "$@" & wait $!',
              "sh", str(host - 1)] + d.args
    problems = []
    daemon_pid = None
    why = d.start()
    try:
        if why:
            problems.append(why)
            return
        for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
            ns = nspids(pid)
            if len(ns) == 2 and ns[1] == host and pid != host:
                daemon_pid = pid
        if not daemon_pid:
            problems.append("no process has pid %d in the daemon's namespace" % host)
            return
        target.stdin.write("\n")
        target.stdin.flush()
        r = target.stdout.readline().strip()
        if r != "EPERM":
            problems.append("the host process %d (the daemon's pid in its namespace): send to "
                            "a denied port: %s, want EPERM" % (host, r or "no answer"))
        # The daemon's reply is a send of its own: still left out of the stream.
        c = socket.socket(socket.AF_UNIX)
        c.settimeout(5)
        c.connect(CONTROL)
        c.sendall(b'{"cmd":"status"}\n')
        reply = c.recv(65536)
        c.close()
        if b'"ok":true' not in reply:
            problems.append("status: %r" % reply[:200])
        time.sleep(0.6)
    finally:
        target.kill()
        target.wait()
        if daemon_pid:
            os.kill(daemon_pid, signal.SIGTERM)
        events = d.finish()
        shutil.rmtree(tmp, ignore_errors=True)
        if not why:
            expect_event(problems, "host process's send", find(events, host, dst_port(P_PIDNS)),
                         False, "deny", "cgroup", "deny-pidns")
            own = [e for e in events if daemon_pid and
                   e.get("proc", {}).get("pid") == daemon_pid]
            if own:
                problems.append("%d events of the daemon's own sends, e.g. %s" %
                                (len(own), json.dumps(own[0])[:200]))
        res.report(name, problems)


def main():
    args, res = suite.parse()
    if os.geteuid() != 0:
        print("enforcement tests need root")
        print("0 passed, 1 failed")
        return 1
    return suite.main(tests=[test_main, test_reload, test_hooks_follow_policy,
                             test_default_deny_cgroup, test_default_deny_host, test_lsm,
                             test_no_enforce, test_pid_namespace, test_cgroup_option,
                             test_unix_spellings])


if __name__ == "__main__":
    sys.exit(main())
