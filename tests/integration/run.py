#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""sendguard integration tests: the real daemon, real sends, exact events.

    /usr/bin/python3 tests/integration/run.py --build build [-k PATTERN] [-v]

Starts build/sendguardd with a file sink, runs build/tests/sender scenarios
(tests/helpers/sender.c), stops the daemon with SIGTERM and checks every
record of the file against docs/event.schema.json and every send event of
the sender's pids against the values the sender reports (README, "Event fields").
The policy tests (sendguard-policy(5)) are in tests/integration/policy_tests.py.

Prints `ok NAME` / `FAIL NAME: reason` per test, then one line
`N passed, N failed`; exit status 1 if any failed. When BPF cannot be
loaded the BPF tests are skipped with the reason, except with CI=true,
where that is a failure.
"""

import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time

# A control socket of this run's own: another daemon (a test run beside this one, or the
# host's) answering on the default path would make ours refuse to start.
CONTROL = os.path.join(tempfile.gettempdir(), f"sendguard-test-{os.getpid()}.sock")


HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import expect  # noqa: E402  (tests/integration/expect.py)
import harness  # noqa: E402  (tests/integration/harness.py)
import policy_tests  # noqa: E402  (tests/integration/policy_tests.py)
import private_dirs  # noqa: E402  (tests/integration/private_dirs.py)
import sink_tests  # noqa: E402  (tests/integration/sink_tests.py)

# Generous: under make test-kernels the daemon loads BPF in an emulated (TCG) guest, where
# SENDGUARD_TEST_TIME_SCALE stretches every wait (what is checked stays the same).
TIME_SCALE = harness.TIME_SCALE
READY_TIMEOUT = 120.0 * TIME_SCALE
STOP_TIMEOUT = 60.0 * TIME_SCALE
EVENT_WAIT = 5.0 * TIME_SCALE
LATENCY_LIMIT = 1.0
EXTRA_ARGS = []  # --daemon-arg
# Daemons that only trace (no policy) under make test-kernels: without the enforcement
# programs, whose verification is most of a start in an emulated guest (harness.py).
TRACE_ONLY = ["--no-enforce"] if harness.SHARE_DAEMONS else []
VERBOSE = []  # -v: [True]


# --- the daemon --------------------------------------------------------------

class Daemon(harness.Daemon):
    """One sendguardd run with a file sink at self.path."""

    def __init__(self, build, workdir, name, extra=()):
        path = os.path.join(workdir, f"{name}.jsonl")
        # Many rotated files kept: a flood of other traffic must not delete
        # a file before we read it (rotation itself stays at its default).
        super().__init__(os.path.join(build, "sendguardd"),
                         ["--rotate-keep", "1000", *extra, *EXTRA_ARGS], events=path,
                         control=CONTROL, ready_timeout=READY_TIMEOUT / TIME_SCALE,
                         stop_timeout=STOP_TIMEOUT / TIME_SCALE,
                         echo=os.path.basename(path) if VERBOSE else None)


# The start of a send record as common/event.c writes it; lines that do not
# match are parsed in full.
FAST_SEND_RE = re.compile(rb'\{"v":1,"seq":(\d+),"ts":"[^"\\]*","type":"send",')


class Tail:
    """Incremental JSON Lines reader of the daemon's file sink.

    Follows rotation (the path gets a new inode: the old file is read to its
    end first). Checks every line (UTF-8, JSON object, seq +1) as it goes but
    keeps only what the tests look at: records that are not sends, sends of
    watched pids (and of their children), and a sample of other sends for the
    schema check, so heavy unrelated traffic costs no memory.
    """

    SAMPLE_FIRST = 300
    SAMPLE_EVERY = 1000
    SAMPLE_MAX = 2000

    def __init__(self, path):
        self.path = path
        self.f = None
        self.ino = None
        self.buf = b""
        self.count = 0
        self.kept = []
        self.sample = []
        self.others = 0
        self.bad = []
        self.seq_problems = []
        self.prev_seq = None
        self.rotations = 0
        self.watch = set()
        self.sends_seen = 0
        self.stats_seen = []  # (stats record, send records before it)
        self.lock = threading.RLock()
        self.stop_bg = None

    def follow(self):
        """Polls in a background thread until finish(), so a flood of other
        traffic never gets ahead of us (rotated files are deleted)."""
        self.stop_bg = threading.Event()

        def loop():
            while not self.stop_bg.wait(0.02):
                self.poll()

        self.bg = threading.Thread(target=loop, daemon=True)
        self.bg.start()

    def _rotated(self):
        """{inode: k} of PATH.k, the rotated files (PATH.1 the newest)."""
        out = {}
        k = 1
        while True:
            try:
                out[os.stat(f"{self.path}.{k}").st_ino] = k
            except FileNotFoundError:
                return out
            k += 1

    def _open_chain(self, old_ino):
        """Open files: the rotated ones newer than old_ino (all when None),
        oldest first, then PATH. Retries when a rotation races with us, so
        each file is read exactly once whatever the daemon renames."""
        for _ in range(50):
            rot = self._rotated()
            if old_ino is None:
                ks = sorted(rot.values(), reverse=True)
            elif old_ino in rot:
                ks = list(range(rot[old_ino] - 1, 0, -1))
            else:
                self.bad.append("a rotated file was deleted before it was read")
                old_ino = None
                continue
            files = []
            try:
                for k in ks:
                    files.append(open(f"{self.path}.{k}", "rb"))
                files.append(open(self.path, "rb"))
            except FileNotFoundError:
                for f in files:
                    f.close()
                if old_ino is None and not ks:
                    return None
                continue
            inos = [os.fstat(f.fileno()).st_ino for f in files]
            if self._rotated() == rot and os.stat(self.path).st_ino == inos[-1]:
                return files
            for f in files:
                f.close()
        self.bad.append("the file rotates too fast to follow")
        return None

    def _read_rest(self, f, name):
        *lines, rest = (self.buf + f.read()).split(b"\n")
        self.buf = b""
        for line in lines:
            self._line(line)
        if rest:
            self.bad.append(f"{name} ends in a partial line: {rest[:200]!r}")
        f.close()

    def _switch(self, old_ino):
        files = self._open_chain(old_ino)
        if not files:
            return False
        for f in files[:-1]:
            self._read_rest(f, "a rotated file")
        self.f = files[-1]
        self.ino = os.fstat(self.f.fileno()).st_ino
        return True

    def _drain(self):
        data = self.f.read()
        if not data:
            return
        self.buf += data
        *lines, self.buf = self.buf.split(b"\n")
        for line in lines:
            self._line(line)

    def _seq(self, seq):
        if not isinstance(seq, int) or isinstance(seq, bool):
            self.seq_problems.append(f"record {self.count}: seq is {seq!r}")
            seq = None
        elif self.prev_seq is None and self.count == 1 and seq != 1:
            self.seq_problems.append(f"first record has seq {seq}, expected 1")
        elif self.prev_seq is not None and seq != self.prev_seq + 1:
            self.seq_problems.append(f"record {self.count}: seq {seq} after {self.prev_seq} "
                                     f"(expected {self.prev_seq + 1})")
        self.prev_seq = seq

    def _parse(self, line):
        try:
            rec = json.loads(line.decode("utf-8"))
            if not isinstance(rec, dict):
                raise ValueError("not a JSON object")
            return rec
        except (UnicodeDecodeError, ValueError) as e:
            if len(self.bad) < 20:
                self.bad.append(f"line {self.count}: {e}: {line[:200]!r}")
            return None

    def _foreign(self, line):
        """Fast path for another process's send: (seq) or None to parse it.
        Such lines are checked for UTF-8 and seq only; a sample is parsed."""
        m = FAST_SEND_RE.match(line)
        if not m or not line.endswith(b"}"):
            return None
        i = line.find(b'"proc":{"pid":', m.end())
        if i < 0:
            return None
        try:
            pid = int(line[i + 14:line.index(b",", i + 14)])
            j = line.index(b'"ppid":', i)
            ppid = int(line[j + 7:line.index(b",", j + 7)])
            line.decode("utf-8")
        except ValueError:
            return None
        if pid in self.watch or ppid in self.watch:
            return None
        return int(m.group(1))

    def _line(self, line):
        self.count += 1
        seq = self._foreign(line)
        if seq is not None:
            self._seq(seq)
            self.sends_seen += 1
            self.others += 1
            if self.others <= self.SAMPLE_FIRST or (self.others % self.SAMPLE_EVERY == 0
                                                    and len(self.sample) < self.SAMPLE_MAX):
                rec = self._parse(line)
                if rec is not None:
                    self.sample.append(rec)
            return
        rec = self._parse(line)
        if rec is None:
            self.prev_seq = None
            return
        self._seq(rec.get("seq"))
        if rec.get("type") == "send":
            self.sends_seen += 1
        elif rec.get("type") == "stats":
            self.stats_seen.append((rec, self.sends_seen))
        proc = rec.get("proc") if isinstance(rec.get("proc"), dict) else {}
        if rec.get("type") != "send" or proc.get("pid") in self.watch \
                or proc.get("ppid") in self.watch:
            self.kept.append(rec)
            return
        self.others += 1
        if self.others <= self.SAMPLE_FIRST or self.others % self.SAMPLE_EVERY == 0:
            self.sample.append(rec)

    def poll(self):
        with self.lock:
            self._poll()

    def _poll(self):
        if self.f is None:
            if self.rotations or not self._switch(None):
                return
        self._drain()
        try:
            ino = os.stat(self.path).st_ino
        except FileNotFoundError:
            return
        if ino != self.ino:
            old = self.ino
            self._read_rest(self.f, "a rotated file")
            self.f = None
            self.rotations += 1
            if self._switch(old):
                self._drain()

    def finish(self):
        if self.stop_bg is not None:
            self.stop_bg.set()
            self.bg.join()
            self.stop_bg = None
        self.poll()
        if self.buf:
            self.bad.append(f"last line has no newline: {self.buf[:200]!r}")
            self.buf = b""
        if self.f is not None:
            self.f.close()
            self.f = None

    def sends(self, pids):
        with self.lock:
            return [r for r in self.kept if r.get("type") == "send"
                    and r["proc"].get("pid") in pids]

    def of_type(self, typ):
        with self.lock:
            return [r for r in self.kept if r.get("type") == typ]

    def lost_count(self):
        return sum(r["count"] for r in self.of_type("lost")
                   if isinstance(r.get("count"), int))


class RawWatch:
    """Finds bytes appended to the file from now on (follows one rotation)."""

    def __init__(self, path):
        self.path = path
        self.f = open(path, "rb")
        self.f.seek(0, os.SEEK_END)
        self.ino = os.fstat(self.f.fileno()).st_ino
        self.tail = b""

    def find(self, needle):
        data = self.f.read()
        try:
            if os.stat(self.path).st_ino != self.ino:
                data += self.f.read()
                self.f.close()
                self.f = open(self.path, "rb")
                self.ino = os.fstat(self.f.fileno()).st_ino
                data += self.f.read()
        except FileNotFoundError:
            pass
        data = self.tail + data
        self.tail = data[-len(needle):]
        return needle in data

    def close(self):
        self.f.close()


# --- the sender --------------------------------------------------------------

class Sender:
    """build/tests/sender -w SCENARIO: prints its line, lives until stdin EOF."""

    def __init__(self, build, tail, scenario, *args):
        self.exe = os.path.join(build, "tests", "sender")
        self.scenario = scenario
        self.t0 = time.time()
        self.proc = subprocess.Popen([self.exe, "-w", scenario, *args],
                                     stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        tail.watch.add(self.proc.pid)
        self.info = None
        self.error = None
        self.err_text = ""
        self.t1 = None

    def read(self, timeout=30.0):
        """Waits for the JSON line; returns the parsed info or None."""
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout * TIME_SCALE)
        line = self.proc.stdout.readline() if ready else b""
        self.t1 = time.time()
        if not line:
            self.finish()
            self.error = (f"sender {self.scenario}: no output (exit "
                          f"{self.proc.returncode}): {self.err_text}")
            return None
        try:
            self.info = json.loads(line)
        except ValueError as e:
            self.error = f"sender {self.scenario}: bad output {line!r}: {e}"
            return None
        return self.info

    def finish(self):
        """Closes stdin so it exits; returns its exit status."""
        if self.proc.stdout.closed:
            return self.proc.returncode
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.err_text = self.proc.stderr.read().decode("utf-8", "replace").strip()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.proc.returncode

    def pids(self):
        return {p["pid"] for p in self.info["procs"]} if self.info else set()


def wait_for_events(tail, senders, timeout):
    """Polls the file until every sender's expected events are in."""
    deadline = time.monotonic() + timeout
    while True:
        tail.poll()
        missing = False
        for s in senders:
            if s.info is None:
                continue
            want = len(s.info["events"])
            if len(tail.sends(s.pids())) < want:
                missing = True
                break
        if not missing or time.monotonic() >= deadline:
            return
        time.sleep(0.05)


# --- checks on a whole file ----------------------------------------------------

def file_problems(tail, validator):
    """Every line JSON, UTF-8, seq +1 from 1; kept and sampled records valid."""
    problems = list(tail.bad) + tail.seq_problems[:20]
    if tail.count == 0:
        problems.append("the file has no records at all")
    if validator is not None:
        problems += validator.check_all(tail.kept + tail.sample)
    return problems


# --- the groups of tests ---------------------------------------------------------

def run_usage_tests(res, build, workdir):
    exe = os.path.join(build, "sendguardd")
    out = "file:" + os.path.join(workdir, "usage.jsonl")
    cases = [
        ("usage_unknown_option", [exe, "-f", "-o", out, "--no-such-option"], "no-such-option"),
        ("usage_bad_number", [exe, "-f", "-o", out, "--ringbuf-size", "12abc"], "12abc|ringbuf"),
    ]
    for name, argv, pattern in cases:
        if not res.wanted(name):
            continue
        if not os.access(exe, os.X_OK):
            res.report(name, [f"{exe} not found"])
            continue
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=10)
        except subprocess.TimeoutExpired:
            res.report(name, [f"{' '.join(argv[1:])}: still running after 10 s "
                              "(expected exit 2)"])
            continue
        problems = []
        msg = p.stderr.decode("utf-8", "replace").strip()
        if p.returncode != 2:
            problems.append(f"exit status: expected 2, got {p.returncode} (stderr: {msg!r})")
        if not re.search(pattern, msg):
            problems.append(f"stderr does not name the problem ({pattern}): {msg!r}")
        res.report(name, problems)

    # Without privileges the load fails with the cause and a hint, exit 1, whatever the
    # pin directory holds: here one of root's, mode 0700, as a --persist run leaves it.
    name = "load_failure_hint"
    if res.wanted(name) and os.geteuid() == 0:
        out_np = "file:" + os.path.join(tempfile.mkdtemp(prefix="sg-np-"), "np.jsonl")
        os.chmod(os.path.dirname(out_np[5:]), 0o777)
        pins = private_dirs.pin_dir("-np")
        made = os.path.isdir(private_dirs.BPFFS) and not os.path.lexists(pins)
        if made:
            try:
                os.mkdir(pins, 0o700)
            except OSError:
                made = False  # no bpffs writable here: the hint is still what is wanted
        try:
            p = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534",
                                "--clear-groups", exe, "-f", "-o", out_np, "--control", "none",
                                "--pin-dir", pins, "--state-dir",
                                private_dirs.state_dir("-np")],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=20)
        finally:
            if made:
                private_dirs.remove(pins)
        msg = p.stderr.decode("utf-8", "replace")
        shutil.rmtree(os.path.dirname(out_np[5:]), ignore_errors=True)
        problems = []
        if p.returncode != 1:
            problems.append(f"exit status: expected 1, got {p.returncode} (stderr: {msg!r})")
        want = "cannot load BPF: Operation not permitted (need root or CAP_BPF+CAP_PERFMON)"
        if want not in msg:
            problems.append(f"stderr lacks {want!r}: {msg!r}")
        res.report(name, problems)


def start_or_skip(res, daemon, names, ci):
    """Starts daemon; on failure reports names as failed (CI) or skipped."""
    reason = daemon.start()
    if reason is None:
        return True
    if not ci:
        res.skip(names, reason + " (with CI=true this fails)")
        return False
    for name in names:
        res.report(name, [f"cannot run: {reason}"])
    return False


def run_main_group(res, build, workdir, validator, env):
    """One daemon, every scenario at once (separate pids), then latency."""
    scenarios = [s for s in expect.SCENARIOS if res.wanted("send_" + s)]
    names = ["send_" + s for s in scenarios] + [
        "latency_1s", "sigterm_exit_0", "file_schema_seq", "stats_records"]
    d = Daemon(build, workdir, "main", ["--stats-interval", "1", *TRACE_ONLY])
    if not start_or_skip(res, d, names, env["ci"]):
        return
    tail = Tail(d.path)
    tail.follow()
    t_ready = time.monotonic()
    senders = []
    lat_problems = []
    try:
        senders = [Sender(build, tail, s) for s in scenarios]
        for s in senders:
            s.read()
        wait_for_events(tail, senders, EVENT_WAIT)
        for s in senders:
            rc = s.finish()
            if s.info is not None and rc != 0:
                s.error = (f"sender {s.scenario} exit {rc}: problems "
                           f"{s.info.get('problems')} {s.err_text}")

        # Latency: one send, no more traffic of ours. Watch the raw bytes
        # (not the parsed records) so a flood of other events parsed here
        # does not count against the daemon.
        tail.poll()
        watcher = RawWatch(d.path)
        one = Sender(build, tail, "single")
        info = one.read()
        if info is None:
            lat_problems.append(one.error)
        else:
            t_sent = one.t1
            needle = b'"pid":%d,' % info["pid"]
            got = None
            while got is None and time.time() < t_sent + LATENCY_LIMIT + 1.0:
                if watcher.find(needle):
                    got = time.time()
                else:
                    time.sleep(0.005)
            if got is None:
                lat_problems.append(f"no event for pid {info['pid']} within "
                                    f"{LATENCY_LIMIT + 1.0:.1f} s of the send")
            elif got - t_sent > LATENCY_LIMIT:
                lat_problems.append(f"event appeared {got - t_sent:.3f} s after the send "
                                    f"(limit {LATENCY_LIMIT:.1f} s)")
        watcher.close()
        one.finish()
        # Let a stats interval pass for the stats check.
        time.sleep(max(0.0, 1.5 - (time.monotonic() - t_ready)))
    finally:
        rc = d.stop()
    tail.finish()

    res.report("sigterm_exit_0", [] if rc == 0 else
               [f"exit status after SIGTERM: expected 0, got {rc}; stderr: {d.tail()}"])
    res.report("latency_1s", lat_problems)
    res.report("file_schema_seq", file_problems(tail, validator))
    res.report("stats_records", expect.check_stats(tail.stats_seen))

    for s in senders:
        name = "send_" + s.scenario
        if s.info is None or s.error:
            res.report(name, [s.error or "sender failed"])
            continue
        problems = expect.check_scenario(s.info, tail.sends(s.pids()), env,
                                         (s.t0, time.time()))
        if problems and tail.lost_count():
            problems.append(f"(the file has lost records: {tail.lost_count()} events "
                            "dropped in this run)")
        res.report(name, problems)


def run_flush_group(res, build, workdir, validator, env):
    """Sends, then SIGTERM at once: everything captured is in the file."""
    name = "flush_on_sigterm"
    if not res.wanted(name):
        return
    d = Daemon(build, workdir, "flush", ["--stats-interval", "3600", *TRACE_ONLY])
    if not start_or_skip(res, d, [name], env["ci"]):
        return
    problems = []
    tail = Tail(d.path)
    tail.follow()
    try:
        one = Sender(build, tail, "single")
        burst = Sender(build, tail, "burst", "300")
        info1, info2 = one.read(), burst.read()
        # Both still alive (exe resolvable); stop the daemon right now.
    finally:
        rc = d.stop()
    one.finish()
    burst.finish()
    tail.finish()
    if rc != 0:
        problems.append(f"exit status after SIGTERM: expected 0, got {rc}; {d.tail()}")
    if info1 is None or info2 is None:
        problems.append(one.error or burst.error)
    else:
        lost = tail.lost_count()
        if not tail.sends(one.pids()):
            problems.append(f"the single send (pid {info1['pid']}) is not in the file "
                            f"({tail.count} records)")
        got = len(tail.sends(burst.pids()))
        if got + lost < info2["sent"]:
            problems.append(f"burst of {info2['sent']}: {got} events + {lost} lost "
                            f"< {info2['sent']}")
    problems += file_problems(tail, validator)
    res.report(name, problems)


def run_lost_group(res, build, workdir, validator, env):
    """A 4 KiB ring buffer and a burst: lost records, counts add up, no seq gap."""
    name = "lost_records"
    if not res.wanted(name):
        return
    d = Daemon(build, workdir, "lost", ["--ringbuf-size", "4096", "--stats-interval", "3600"])
    if not start_or_skip(res, d, [name], env["ci"]):
        return
    problems = []
    tail = Tail(d.path)
    tail.follow()
    try:
        burst = Sender(build, tail, "burst", "20000")
        info = burst.read(60)
        burst.finish()
        time.sleep(1.5)
    finally:
        rc = d.stop()
    tail.finish()
    if rc != 0:
        problems.append(f"exit status after SIGTERM: expected 0, got {rc}; {d.tail()}")
    if info is None:
        problems.append(burst.error)
    else:
        losts = tail.of_type("lost")
        lost = tail.lost_count()
        got = len(tail.sends(burst.pids()))
        if not losts:
            problems.append(f"no lost record: {got} of {info['sent']} sends delivered, "
                            f"{tail.count} records in all")
        for r in losts:
            c = r.get("count")
            if not isinstance(c, int) or isinstance(c, bool) or c < 1:
                problems.append(f"lost record with count {c!r}: {r}")
        if got + lost < info["sent"]:
            problems.append(f"delivered {got} + lost {lost} = {got + lost} "
                            f"< sent {info['sent']}")
    problems += file_problems(tail, validator)
    res.report(name, problems)


# --- main ---------------------------------------------------------------------

suite = harness.Suite(__doc__)
suite.add_argument("--keep", action="store_true", help="keep the event files")
suite.add_argument("--daemon-arg", action="append", default=[], metavar="ARG",
                   help="extra sendguardd argument for every run (repeatable)")
suite.add_argument("--reload-ms", type=int, default=policy_tests.RELOAD_MS,
                   help="how long the stream of policy_reload_stream lasts (a reload in an "
                   "emulated guest takes seconds)")


def setup(suite):
    args = suite.args
    policy_tests.RELOAD_MS = args.reload_ms
    EXTRA_ARGS.extend(args.daemon_arg)
    if args.verbose:
        VERBOSE.append(True)
    ctx = suite
    ctx.ci = os.environ.get("CI") == "true"
    ctx.env = expect.environment(suite.build, ctx.ci)
    ctx.validator, ctx.schema_why = expect.load_validator(
        os.path.join(ROOT, "docs", "event.schema.json"))
    ctx.workdir = tempfile.mkdtemp(prefix="sendguard-it-")
    ctx.bpf = os.geteuid() == 0 or ctx.ci
    return ctx


def teardown(ctx):
    if ctx.args.keep:
        print(f"event files kept in {ctx.workdir}", flush=True)
    else:
        shutil.rmtree(ctx.workdir, ignore_errors=True)


@suite.test("schema_loads")
def schema_loads(res, ctx):
    res.report("schema_loads", [] if ctx.validator else [ctx.schema_why])


@suite.test("usage_unknown_option", "usage_bad_number", "load_failure_hint")
def usage(res, ctx):
    run_usage_tests(res, ctx.build, ctx.workdir)


@suite.test()  # check_*: one per policy file
def policy_check(res, ctx):
    policy_tests.run_check_tests(res, ctx.build, ctx.workdir)


@suite.test()  # send_*: one per sender scenario
def main_group(res, ctx):
    if not ctx.bpf:
        res.skip(["bpf tests"], "not root: the daemon needs root to load BPF")
        return
    run_main_group(res, ctx.build, ctx.workdir, ctx.validator, ctx.env)


@suite.test("flush_on_sigterm")
def flush_group(res, ctx):
    if ctx.bpf:
        run_flush_group(res, ctx.build, ctx.workdir, ctx.validator, ctx.env)


@suite.test("lost_records")
def lost_group(res, ctx):
    if ctx.bpf:
        run_lost_group(res, ctx.build, ctx.workdir, ctx.validator, ctx.env)


@suite.test()  # sink_*: tests/integration/sink_tests.py
def sinks(res, ctx):
    if ctx.bpf:
        sink_tests.run_sink_tests(res, ctx.build, ctx.workdir)


@suite.test()  # policy_*: tests/integration/policy_tests.py
def policy_bpf(res, ctx):
    if ctx.bpf:
        policy_tests.run_bpf_tests(res, ctx.build, ctx.workdir, ctx.env,
                                   sys.modules[__name__], ctx.validator)


if __name__ == "__main__":
    sys.exit(suite.main(setup, teardown))
