# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""What every Python test suite of sendguard shares: the results (`ok NAME` /
`FAIL NAME: why` lines and the last line `N passed, N failed`), a registry of
test functions with `--only NAME[,NAME]` and `-k REGEX`, the sendguardd
lifecycle, cgroup v2 helpers and the `sendguard` CLI wrapper.

A suite registers one function per test and runs them:

    suite = harness.Suite(__doc__)

    @suite.test("control_status")
    def control_status(res, ctx):
        res.report("control_status", problems)

    sys.exit(suite.main(setup))

A test that raises is reported as failed and the next one runs. With
SENDGUARD_TEST_TIME_SCALE every wait of the daemon is stretched by that factor
(make test-kernels runs the suites in emulated guests); what is checked stays
the same.
"""

import argparse
import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

TIME_SCALE = float(os.environ.get("SENDGUARD_TEST_TIME_SCALE", "1"))
# A file each daemon start is appended to (seconds from spawn to ready, the arguments):
# tests/kernels/guest.py counts the starts of each suite and the time they take.
DAEMON_LOG = os.environ.get("SENDGUARD_TEST_DAEMON_LOG")
# Set by make test-kernels, where every daemon start costs tens of seconds of emulated
# BPF verification: tests that only need a daemon, not a fresh one, share one, and one
# that only traces does not load the enforcement programs (--no-enforce). What each
# test checks stays the same.
SHARE_DAEMONS = os.environ.get("SENDGUARD_TEST_SHARE_DAEMONS") == "1"


def scaled(seconds):
    """A wait of seconds on the build host, stretched by SENDGUARD_TEST_TIME_SCALE."""
    return seconds * TIME_SCALE


# --- results -------------------------------------------------------------------------

class Results:
    """Counts and prints the outcome of every test.

    pattern (-k) and only (--only, a set of exact names) select tests: a report of
    a test that is not wanted prints nothing and counts nothing."""

    def __init__(self, pattern=None, only=None, verbose=False):
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.pattern = pattern
        self.only = set(only) if only else None
        self.verbose = verbose

    def wanted(self, name):
        if self.only is not None and name not in self.only:
            return False
        return not self.pattern or re.search(self.pattern, name) is not None

    def report(self, name, problems, always=False):
        """problems: a list of strings; empty means the test passed. always: counted
        and printed even when name is not wanted (a test that raised)."""
        if not always and not self.wanted(name):
            return
        if not problems:
            self.passed += 1
            print(f"ok {name}", flush=True)
            return
        self.failed += 1
        problems = [str(p) for p in problems]
        shown = problems[:25]
        more = len(problems) - len(shown)
        text = "\n    ".join(shown)
        if more > 0:
            text += f"\n    ... and {more} more"
        sep = "\n    " if len(problems) > 1 or "\n" in problems[0] else ""
        print(f"FAIL {name}: {sep}{text}", flush=True)

    check = report

    def skip(self, names, reason):
        if isinstance(names, str):
            names = [names]
        names = [n for n in names if self.wanted(n)]
        if not names:
            return
        self.skipped += len(names)
        print(f"skip {', '.join(names)}: {reason}", flush=True)

    def summary(self):
        """Prints the last line; the exit status."""
        if self.skipped:
            print(f"({self.skipped} skipped)", flush=True)
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        return 1 if self.failed else 0


# --- the registry of tests -----------------------------------------------------------

class Abort(Exception):
    """Raised by a test whose failure ends the run: the later tests build on what it
    should have left. Abort(name, problems) reports name as failed."""

    def __init__(self, name, problems):
        super().__init__(name)
        self.name = name
        self.problems = problems


class Suite:
    """The tests of one suite, in the order they were registered, and its options."""

    def __init__(self, doc=None):
        self.doc = (doc or "").strip()
        self.tests = []
        self.parser = argparse.ArgumentParser(
            description=self.doc.split("\n")[0] if self.doc else None)
        self.parser.add_argument("--build", default="build",
                                 help="build directory (default: build)")
        self.parser.add_argument("-k", dest="pattern",
                                 help="run only tests whose name matches this regex")
        self.parser.add_argument("--only", metavar="NAME[,NAME]",
                                 help="run only the tests of these exact names")
        self.parser.add_argument("-v", dest="verbose", action="store_true",
                                 help="show more (the daemons' stderr)")
        self.args = None
        self.build = None
        self.res = None

    def add_argument(self, *a, **kw):
        self.parser.add_argument(*a, **kw)

    def test(self, *names):
        """Registers a test function fn(res, ctx) that reports the given names; it runs
        when one of them is wanted. Without names it always runs: a group whose names
        are only known when it runs (one per scenario, per file) picks them itself with
        res.wanted()."""
        def register(fn):
            self.tests.append((fn, list(names) or None))
            return fn
        return register

    def parse(self, argv=None):
        """Parses the command line; (args, results). build is made absolute (relative to
        the current directory)."""
        self.args = self.parser.parse_args(argv)
        self.build = os.path.abspath(self.args.build)
        # A comma followed by a space is part of a name ("bad --filter, --backlog").
        only = re.split(r",(?! )", self.args.only) if self.args.only else None
        self.res = Results(self.args.pattern, only, self.args.verbose)
        return self.args, self.res

    def run(self, ctx=None, tests=None):
        """Runs every wanted test in the order they were registered (or those of tests,
        a list of functions, in its order); one that raises is a failure of its first
        wanted name, and the rest still run (after Abort they do not)."""
        res = self.res
        names_of = dict(self.tests)
        for fn in [fn for fn, _ in self.tests] if tests is None else tests:
            names = names_of[fn]
            wanted = [fn.__name__] if names is None else [n for n in names if res.wanted(n)]
            if not wanted:
                continue
            try:
                fn(res, ctx)
            except Abort as e:
                res.report(e.name, e.problems, always=True)
                print("(the remaining tests build on this one: not run)", flush=True)
                break
            except Exception:
                res.report(wanted[0], ["raised: " + traceback.format_exc().rstrip()],
                           always=True)

    def main(self, setup=None, teardown=None, tests=None):
        """parse() (unless done), then setup(suite) -> ctx (or None to end the run, having
        reported why), the tests (all, or those of tests in its order), teardown(ctx);
        prints the summary. The exit status."""
        if self.res is None:
            self.parse()
        ctx = None
        try:
            ctx = setup(self) if setup else self
            if ctx is not None:
                self.run(ctx, tests)
        except Exception:
            self.res.report("harness", ["raised: " + traceback.format_exc().rstrip()],
                            always=True)
        finally:
            if teardown and ctx is not None:
                teardown(ctx)
        return self.res.summary()


def need_root(res, suite):
    """True as root. Otherwise says why the suite does not run; with CI=true that is a
    failure of the test named suite."""
    if os.geteuid() == 0:
        return True
    if os.environ.get("CI") == "true":
        res.report(suite, ["needs root, and CI=true: not skipped"])
    else:
        print(f"{suite} skipped: needs root (sudo make test)", flush=True)
    return False


# --- the daemon ----------------------------------------------------------------------

class Daemon:
    """One sendguardd run in the foreground.

    exe: the binary; args: its arguments after -f and what the keywords add:
    events (a file sink, path), policy (-p), control (--control), dirs (the
    --pin-dir/--state-dir arguments; default a pin and state directory private to
    this test process, see private_dirs.py). stderr is collected line by line in
    self.log; start() waits for the "ready:" line."""

    READY = "ready:"

    def __init__(self, exe, args=(), events=None, policy=None, control=None, dirs=None,
                 stdout=subprocess.DEVNULL, ready_timeout=120.0, stop_timeout=60.0,
                 echo=None):
        self.exe = exe
        self.events = events
        self.path = events
        self.policy = policy
        self.sock = control
        self.argv = [exe, "-f"]
        if control:
            self.argv += ["--control", control]
        if dirs is None:
            # Imported here: it makes a state directory, which a suite without daemons
            # (tests/cli) does not want.
            import private_dirs  # tests/integration/private_dirs.py
            dirs = private_dirs.ARGS
        self.argv += list(dirs)
        if policy:
            self.argv += ["-p", policy]
        if events:
            self.argv += ["-o", "file:" + events]
        self.argv += list(args)
        self.stdout = stdout
        self.ready_timeout = scaled(ready_timeout)
        self.stop_timeout = scaled(stop_timeout)
        self.echo = echo  # a prefix: print stderr with it when stopped (-v)
        self.proc = None
        self.rc = None
        self.log = []
        self._ready = threading.Event()
        self._ended = threading.Event()

    @property
    def args(self):
        """The command line (a test may wrap it, e.g. in unshare)."""
        return self.argv

    @args.setter
    def args(self, argv):
        self.argv = argv

    @property
    def err(self):
        """stderr so far, one string."""
        return "".join(line + "\n" for line in self.log)

    def tail(self, n=5):
        return " | ".join(self.log[-n:]) or "(no stderr)"

    def _read(self):
        for line in self.proc.stderr:
            line = line.rstrip("\n")
            self.log.append(line)
            if self.READY in line:
                self._ready.set()
        self._ended.set()

    def spawn(self):
        """Starts the process without waiting; None, or why it cannot start."""
        if not os.access(self.exe, os.X_OK):
            return f"{self.exe} not found (run make)"
        self.spawned = time.monotonic()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self.stdout,
                                     stderr=subprocess.PIPE, text=True, errors="replace")
        if not _started:
            # Registered now, after private_dirs' cleanup: atexit runs this one first.
            atexit.register(_stop_leftovers)
        _started.append(self)
        threading.Thread(target=self._read, daemon=True).start()
        return None

    def wait_ready(self):
        """None once the daemon says it is ready, else the reason it is not (and then it
        is no longer running)."""
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self._ready.wait(0.05):
                if DAEMON_LOG:
                    with open(DAEMON_LOG, "a") as f:
                        f.write("%.2f %s\n" % (time.monotonic() - self.spawned,
                                               " ".join(self.argv[1:])))
                return None
            if self.proc.poll() is not None:
                self._ended.wait(2)
                self.rc = self.proc.returncode
                return f"sendguardd exited {self.rc} before ready: {self.tail()}"
        self.kill()
        return f"sendguardd not ready after {self.ready_timeout:.0f} s: {self.tail()}"

    def start(self):
        """spawn() and wait_ready(): None when ready, else the reason it is not."""
        return self.spawn() or self.wait_ready()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait_log(self, text, timeout=5.0, start=0):
        """True once a line of stderr from line start on contains text."""
        end = time.monotonic() + scaled(timeout)
        while time.monotonic() < end:
            if any(text in line for line in self.log[start:]):
                return True
            time.sleep(0.05)
        return False

    def stop(self, timeout=None):
        """SIGTERM and wait (SIGKILL after timeout, default stop_timeout); the exit
        status, None if it had to be killed or never ran."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.rc = self.proc.wait(self.stop_timeout if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self.rc = None
        self._ended.wait(2)
        if self.echo:
            for line in self.log:
                print(f"# {self.echo}: {line}", flush=True)
        return self.rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def records(self, strict=False):
        """The records of the file sink (none if there is no file). Lines that do not
        parse are left out, or raise with strict."""
        recs = []
        if not self.events or not os.path.exists(self.events):
            return recs
        with open(self.events) as f:
            for line in f:
                if not line.strip():
                    continue
                try:
                    recs.append(json.loads(line))
                except ValueError:
                    if strict:
                        raise
        return recs

    def finish(self):
        """stop(), then the records of the file sink."""
        self.stop()
        return self.records()


# Every daemon started here: one a failed test left running is stopped at exit, so that
# its hooks do not outlive the suite.
_started = []


def _stop_leftovers():
    for d in _started:
        if d.alive():
            d.stop(timeout=10)


# --- cgroups -------------------------------------------------------------------------

def cgroup2_mount():
    """The mount point of the cgroup v2 hierarchy (from /proc/self/mountinfo), or None."""
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                pre, _, post = line.partition(" - ")
                if post.split(" ")[0] == "cgroup2":
                    return pre.split(" ")[4]
    except OSError:
        pass
    return None


def own_cgroup():
    """This process's cgroup v2 path (relative to the mount, starting with /), or None."""
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                if line.startswith("0::"):
                    return line[3:].rstrip("\n")
    except OSError:
        pass
    return None


class Cgroup:
    """A cgroup of a test's own directly under the cgroup v2 mount, removed on exit:

        with Cgroup("enforce-test") as cg:   # cg.path (full), cg.rel (under the mount)
            ...

    remove() moves what is left in it out first (to the mount's root) so the rmdir
    succeeds, and says why it did not."""

    def __init__(self, tag, mount=None):
        self.mount = mount or cgroup2_mount()
        if not self.mount:
            raise OSError("no cgroup v2 mount")
        self.rel = f"/sendguard-{tag}-{os.getpid()}"
        self.path = self.mount + self.rel

    def create(self):
        os.mkdir(self.path)
        return self

    def add(self, pid):
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write(str(pid))

    def remove(self):
        """None, or why the directory could not be removed."""
        try:
            with open(os.path.join(self.path, "cgroup.procs")) as f:
                left = f.read().split()
            for pid in left:
                try:
                    with open(os.path.join(self.mount, "cgroup.procs"), "w") as f:
                        f.write(pid)
                except OSError:
                    pass
            os.rmdir(self.path)
        except FileNotFoundError:
            return None
        except OSError as e:
            return f"cannot remove {self.path}: {e}"
        return None

    def __enter__(self):
        return self.create()

    def __exit__(self, *exc):
        self.remove()


# --- the CLI -------------------------------------------------------------------------

class Cli:
    """The sendguard CLI (path), talking to the daemon at sock (None: its default)."""

    def __init__(self, path, sock=None, timeout=20.0):
        self.path = path
        self.sock = sock
        self.timeout = timeout

    def argv(self, args, control=True):
        return [self.path] + (["--control", self.sock] if control and self.sock else []) + \
            list(args)

    def run(self, *args, control=True, env=None, cwd=None, text=True):
        """(exit status, stdout, stderr) of one sendguard run."""
        p = subprocess.run(self.argv(args, control), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=text, timeout=self.timeout, env=env,
                           cwd=cwd)
        return p.returncode, p.stdout, p.stderr

    def json(self, *args):
        """The parsed stdout of a -j run, or raises with what went wrong."""
        rc, out, err = self.run(*args)
        if rc != 0:
            raise RuntimeError(f"{args}: exit {rc}: {err.strip()}")
        if out.count("\n") != 1:
            raise RuntimeError(f"{args}: not one line: {out!r}")
        return json.loads(out)

    def events(self, *args):
        """Records of `events` (without --follow), parsed, and the text."""
        rc, out, err = self.run("events", *args)
        if rc != 0:
            raise RuntimeError(f"events {args}: exit {rc}: {err.strip()}")
        return [json.loads(line) for line in out.splitlines()], out


# --- small things --------------------------------------------------------------------

def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)


def rmtree(path):
    shutil.rmtree(path, ignore_errors=True)
