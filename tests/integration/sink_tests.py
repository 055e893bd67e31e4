# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Sink tests (README, "Running the daemon"): size rotation, SIGUSR1 reopen, a full disk and a
closed pipe. A failing sink is reported and counted; the daemon keeps running,
the other sinks get everything, and a file never keeps a partial line."""

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

import harness  # tests/integration/harness.py

# A control socket of this run's own: another daemon (a test run beside this one, or the
# host's) answering on the default path would make ours refuse to start.
CONTROL = os.path.join(tempfile.gettempdir(), f"sendguard-test-{os.getpid()}.sock")


class SinkDaemon(harness.Daemon):
    """sendguardd with the given sink arguments, started at once; stderr collected."""

    def __init__(self, build, args, stdout=subprocess.DEVNULL):
        super().__init__(os.path.join(build, "sendguardd"), args, control=CONTROL,
                         stdout=stdout, ready_timeout=30, stop_timeout=30)
        self.spawn()

    @property
    def stderr(self):
        return self.err


def burst(build, n):
    """Sends n datagrams to loopback; returns the sender's pid."""
    out = subprocess.run([os.path.join(build, "tests", "sender"), "burst", str(n)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, check=True)
    return json.loads(out.stdout)["pid"]


def read_lines(path):
    """(records, problems) of a JSON Lines file: every line whole and valid."""
    recs, problems = [], []
    with open(path, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        problems.append(f"{os.path.basename(path)}: ends with a partial line")
    for i, line in enumerate(data.split(b"\n")[:-1]):
        try:
            recs.append(json.loads(line))
        except ValueError as e:
            problems.append(f"{os.path.basename(path)}:{i + 1}: not JSON ({e})")
    return recs, problems


def seq_problems(recs, what):
    seqs = [r.get("seq") for r in recs]
    for a, b in zip(seqs, seqs[1:]):
        if b != a + 1:
            return [f"{what}: seq {a} followed by {b}"]
    return []


def sends_of(recs, pid):
    return [r for r in recs if r.get("type") == "send" and r["proc"]["pid"] == pid]


def wait_for(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def test_rotation(res, build, workdir):
    name = "sink_rotation"
    path = os.path.join(workdir, "rot.jsonl")
    limit = 20000
    d = SinkDaemon(build, ["-o", "file:" + path, "--rotate-size", str(limit),
                           "--rotate-keep", "3", "--stats-interval", "3600"])
    reason = d.wait_ready()
    if reason:
        res.report(name, [reason])
        return
    pid = burst(build, 400)
    time.sleep(0.5)
    rc = d.stop()
    problems = [] if rc == 0 else [f"exit status {rc}: {d.stderr!r}"]
    files = [path + ".3", path + ".2", path + ".1", path]
    recs = []
    for f in files:
        if not os.path.exists(f):
            problems.append(f"{os.path.basename(f)} missing after rotation")
            continue
        size = os.path.getsize(f)
        if size > limit:
            problems.append(f"{os.path.basename(f)}: {size} bytes, over --rotate-size {limit}")
        r, p = read_lines(f)
        recs += r
        problems += p
    if os.path.exists(path + ".4"):
        problems.append("rot.jsonl.4 exists: --rotate-keep 3 keeps three")
    problems += seq_problems(recs, "rot.jsonl.3 .. rot.jsonl")
    if not sends_of(recs, pid):
        problems.append("no event of the burst in the kept files")
    res.report(name, problems)


def test_reopen(res, build, workdir):
    name = "sink_reopen_sigusr1"
    path = os.path.join(workdir, "re.jsonl")
    moved = path + ".moved"
    d = SinkDaemon(build, ["-o", "file:" + path, "--stats-interval", "3600"])
    reason = d.wait_ready()
    if reason:
        res.report(name, [reason])
        return
    pid1 = burst(build, 5)
    # All five written before the move: they may come in two drains.
    wait_for(lambda: os.path.exists(path) and len(sends_of(read_lines(path)[0], pid1)) == 5)
    os.rename(path, moved)
    d.signal(signal.SIGUSR1)
    wait_for(lambda: os.path.exists(path))
    pid2 = burst(build, 5)
    time.sleep(0.5)
    rc = d.stop()
    problems = [] if rc == 0 else [f"exit status {rc}: {d.stderr!r}"]
    old, p1 = read_lines(moved) if os.path.exists(moved) else ([], ["moved file gone"])
    new, p2 = read_lines(path) if os.path.exists(path) else ([], ["no new file after SIGUSR1"])
    problems += p1 + p2
    if len(sends_of(old, pid1)) != 5:
        problems.append(f"moved file: {len(sends_of(old, pid1))} of 5 events before SIGUSR1")
    if len(sends_of(new, pid2)) != 5:
        problems.append(f"new file: {len(sends_of(new, pid2))} of 5 events after SIGUSR1")
    problems += seq_problems(old + new, "moved file then new file")
    res.report(name, problems)


def test_disk_full(res, build, workdir):
    name = "sink_disk_full"
    mnt = os.path.join(workdir, "full")
    os.mkdir(mnt)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt]).returncode:
        res.report(name, ["cannot mount a small tmpfs"])
        return
    full = os.path.join(mnt, "events.jsonl")
    ok = os.path.join(workdir, "ok.jsonl")
    try:
        d = SinkDaemon(build, ["-o", "file:" + full, "-o", "file:" + ok,
                               "--stats-interval", "1"])
        reason = d.wait_ready()
        if reason:
            res.report(name, [reason])
            return
        pid = burst(build, 1000)
        time.sleep(1.5)
        problems = []
        if not d.alive():
            problems.append(f"the daemon died on a full disk: {d.stderr!r}")
        rc = d.stop()
        if rc != 0:
            problems.append(f"exit status {rc}")
        if "No space left on device" not in d.stderr:
            problems.append(f"the full sink is not reported: {d.stderr!r}")
        recs, p = read_lines(full)
        problems += p
        good, p = read_lines(ok)
        problems += p
        if len(sends_of(good, pid)) != 1000:
            problems.append(f"the other sink got {len(sends_of(good, pid))} of 1000 events")
        if len(sends_of(recs, pid)) >= 1000:
            problems.append("the 64 KiB sink holds every event: the disk never filled")
        stats = [r for r in good if r.get("type") == "stats"]
        if not any(r["sink_errors"] > 0 for r in stats):
            problems.append("no stats record counts the sink errors")
        problems += seq_problems(good, "ok.jsonl")
    finally:
        subprocess.run(["umount", mnt])
        os.rmdir(mnt)
    res.report(name, problems)


def test_disk_full_truncated(res, build, workdir):
    """copytruncate, then a full disk: the cut back after the failed write goes by the file's
    real size, so the file holds whole lines only, never NUL bytes or a partial line."""
    name = "sink_disk_full_truncated"
    mnt = os.path.join(workdir, "full2")
    os.mkdir(mnt)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt]).returncode:
        res.report(name, ["cannot mount a small tmpfs"])
        return
    full = os.path.join(mnt, "events.jsonl")
    problems = []
    try:
        d = SinkDaemon(build, ["-o", "file:" + full, "--stats-interval", "3600"])
        reason = d.wait_ready()
        if reason:
            res.report(name, [reason])
            return
        burst(build, 40)  # ~25 KB the daemon counts as written
        if not wait_for(lambda: os.path.getsize(full) > 20000):
            problems.append(f"the first burst did not reach the file ({os.path.getsize(full)} B)")
        subprocess.run(["truncate", "-s", "0", full], check=True)  # logrotate's copytruncate
        burst(build, 1000)  # more than the 64 KiB file system holds
        time.sleep(1.5)
        rc = d.stop()
        if rc != 0:
            problems.append(f"exit status {rc}")
        if "No space left on device" not in d.stderr:
            problems.append(f"the disk never filled: {d.stderr[-300:]!r}")
        with open(full, "rb") as f:
            data = f.read()
        nuls = data.count(b"\0")
        if nuls:
            problems.append(f"{nuls} NUL bytes in the file (of {len(data)})")
        _, p = read_lines(full)
        problems += p[:3]
    finally:
        subprocess.run(["umount", mnt])
        os.rmdir(mnt)
    res.report(name, problems)


NOBODY = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]


def as_nobody(*argv):
    """Run argv as an unprivileged user (uid/gid 65534)."""
    subprocess.run(NOBODY + list(argv), check=True, timeout=20)


def user_dir():
    """(base, dir): base is root's (mode 0755), dir inside it belongs to uid 65534."""
    base = tempfile.mkdtemp(prefix="sendguard-sink-")
    os.chmod(base, 0o755)
    udir = os.path.join(base, "u")
    os.mkdir(udir, 0o755)
    os.chown(udir, 65534, 65534)
    return base, udir


def victims(base, n):
    """n files of root's that a planted symlink points at; returns their paths."""
    out = []
    for i in range(n):
        v = os.path.join(base, f"victim{i}")
        with open(v, "w") as f:
            f.write("root's file\n")
        out.append(v)
    return out


def victim_problems(paths):
    out = []
    for v in paths:
        with open(v) as f:
            if f.read() != "root's file\n":
                out.append(f"{os.path.basename(v)} was written through a planted symlink")
    return out


def sink_file_problems(path):
    """A file the daemon made: root's, mode 0600, a regular file."""
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode) or st.st_uid != 0 or stat.S_IMODE(st.st_mode) != 0o600:
        return [f"{os.path.basename(path)}: mode {oct(st.st_mode)} uid {st.st_uid}, want a "
                "regular file of root's with mode 0600"]
    return []


def test_symlink_start(res, build, workdir):
    """A symlink an unprivileged user planted at the sink path: refused at start (exit 1),
    the file it points to is not written; a FIFO of that user's too."""
    name = "sink_symlink_refused"
    base, udir = user_dir()
    (victim,) = victims(base, 1)
    path = os.path.join(udir, "events.jsonl")
    problems = []
    try:
        as_nobody("ln", "-s", victim, path)
        d = SinkDaemon(build, ["-o", "file:" + path, "--stats-interval", "3600"])
        if d.wait_ready() is None:
            problems.append("the daemon started on a symlinked sink")
        rc = d.stop()
        if rc != 1 or "a symbolic link: refused" not in d.stderr:
            problems.append(f"symlink: exit {rc}, stderr {d.stderr[-300:]!r}")
        problems += victim_problems([victim])
        # The same user's FIFO, with that user reading it: refused, whoever reads it.
        os.unlink(path)
        as_nobody("mkfifo", path)
        code = ("import os,sys,time\n"
                "fd=os.open(sys.argv[1],os.O_RDONLY|os.O_NONBLOCK)\n"
                "print('open',flush=True)\n"
                "got=b''\n"
                "end=time.monotonic()+30\n"
                "while time.monotonic()<end:\n"
                "    try: got+=os.read(fd,65536)\n"
                "    except BlockingIOError: time.sleep(0.05)\n"
                "    if b'\\n' in got: break\n"
                "sys.stdout.write(got.decode('utf-8','replace'))\n")
        reader = subprocess.Popen(NOBODY + [sys.executable, "-c", code, path],
                                  stdout=subprocess.PIPE)
        reader.stdout.readline()  # "open": the FIFO has a reader now
        d = SinkDaemon(build, ["-o", "file:" + path, "--stats-interval", "3600"])
        d.wait_ready()
        rc = d.stop()
        reader.kill()
        leaked = reader.communicate()[0].strip()
        if rc != 1 or "owned by another user" not in d.stderr:
            problems.append(f"another user's FIFO: exit {rc}, stderr {d.stderr[-300:]!r}")
        if leaked:
            problems.append(f"another user's FIFO got {len(leaked)} bytes of events")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    res.report(name, problems)


def test_symlink_reopen(res, build, workdir):
    """SIGUSR1 after the sink was moved away and a symlink planted in its place: the daemon
    refuses it (logged, counted), writes nothing through it, and the other sink is complete."""
    name = "sink_symlink_reopen"
    base, udir = user_dir()
    (victim,) = victims(base, 1)
    path = os.path.join(udir, "events.jsonl")
    twin = os.path.join(workdir, "symlink-twin.jsonl")
    problems = []
    try:
        d = SinkDaemon(build, ["-o", "file:" + path, "-o", "file:" + twin,
                               "--stats-interval", "3600"])
        reason = d.wait_ready()
        if reason:
            res.report(name, [reason])
            return
        pid1 = burst(build, 5)
        time.sleep(0.6)
        problems += sink_file_problems(path)
        as_nobody("mv", path, os.path.join(udir, "moved.jsonl"))
        as_nobody("ln", "-s", victim, path)
        d.signal(signal.SIGUSR1)
        time.sleep(0.3)
        pid2 = burst(build, 5)
        time.sleep(1.0)
        rc = d.stop()
        if rc != 0:
            problems.append(f"exit status {rc}")
        if "a symbolic link: refused" not in d.stderr:
            problems.append(f"the refused symlink is not reported: {d.stderr[-300:]!r}")
        problems += victim_problems([victim])
        recs, p = read_lines(twin)
        problems += p
        if len(sends_of(recs, pid1)) != 5 or len(sends_of(recs, pid2)) != 5:
            problems.append("the other sink did not get every event")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    res.report(name, problems)


def test_symlink_rotation(res, build, workdir):
    """Rotation with symlinks planted at PATH.1..PATH.3 and, all the while, at PATH itself
    (re-planted as soon as a rotation moves the file away): nothing is written through a
    symlink; every file the daemon made is its own, mode 0600."""
    name = "sink_symlink_rotation"
    base, udir = user_dir()
    vics = victims(base, 4)
    path = os.path.join(udir, "events.jsonl")
    problems = []
    racer = None
    try:
        for i in (1, 2, 3):
            as_nobody("ln", "-s", vics[i], f"{path}.{i}")
        d = SinkDaemon(build, ["-o", "file:" + path, "--rotate-size", "16384",
                               "--rotate-keep", "3", "--stats-interval", "3600"])
        reason = d.wait_ready()
        if reason:
            res.report(name, [reason])
            return
        code = ("import os,time\n"
                f"end=time.monotonic()+6\n"
                "while time.monotonic()<end:\n"
                f"    try: os.symlink({vics[0]!r},{path!r})\n"
                "    except OSError: pass\n")
        racer = subprocess.Popen(NOBODY + [sys.executable, "-c", code])
        for _ in range(8):
            burst(build, 100)  # ~70 KB: several rotations each
            time.sleep(0.3)
        racer.wait(20)
        rc = d.stop()
        if rc != 0:
            problems.append(f"exit status {rc}")
        problems += victim_problems(vics)
        for f in sorted(os.listdir(udir)):
            full = os.path.join(udir, f)
            if not os.path.islink(full):
                problems += sink_file_problems(full)
        if not os.path.exists(path + ".1") or os.path.islink(path + ".1"):
            problems.append("the sink was never rotated (PATH.1 is not the daemon's file)")
    finally:
        if racer and racer.poll() is None:
            racer.kill()
        shutil.rmtree(base, ignore_errors=True)
    res.report(name, problems)


def test_fifo_sink(res, build, workdir):
    """A FIFO of root's named as file:PATH is written (whole lines, never rotated)."""
    name = "sink_fifo"
    path = os.path.join(workdir, "events.fifo")
    os.mkfifo(path, 0o600)
    r = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    problems = []
    try:
        d = SinkDaemon(build, ["-o", "file:" + path, "--rotate-size", "4096",
                               "--stats-interval", "3600"])
        reason = d.wait_ready()
        if reason:
            res.report(name, [reason])
            return
        data = b""
        pid = burst(build, 20)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and data.count(b"\n") < 21:
            try:
                data += os.read(r, 1 << 16)
            except BlockingIOError:
                time.sleep(0.05)
        rc = d.stop()
        if rc != 0:
            problems.append(f"exit status {rc}: {d.stderr[-300:]!r}")
        recs = [json.loads(x) for x in data.split(b"\n") if x]
        if len(sends_of(recs, pid)) != 20:
            problems.append(f"the FIFO carried {len(sends_of(recs, pid))} of 20 events")
        if not stat.S_ISFIFO(os.stat(path).st_mode) or os.path.exists(path + ".1"):
            problems.append("the FIFO was rotated")
    finally:
        os.close(r)
    res.report(name, problems)


def test_closed_pipe(res, build, workdir):
    name = "sink_closed_pipe"
    path = os.path.join(workdir, "pipe.jsonl")
    r, w = os.pipe()
    d = SinkDaemon(build, ["-o", "stdout", "-o", "file:" + path, "--stats-interval", "3600"],
                   stdout=w)
    os.close(w)
    os.close(r)  # the reader goes away: writes to stdout get EPIPE
    reason = d.wait_ready()
    if reason:
        res.report(name, [reason])
        return
    pid = burst(build, 50)
    time.sleep(0.8)
    problems = []
    if not d.alive():
        problems.append(f"the daemon died on a closed pipe: {d.stderr!r}")
    rc = d.stop()
    if rc != 0:
        problems.append(f"exit status {rc}")
    if "Broken pipe" not in d.stderr:
        problems.append(f"the closed pipe is not reported: {d.stderr!r}")
    recs, p = read_lines(path)
    problems += p
    if len(sends_of(recs, pid)) != 50:
        problems.append(f"the file sink got {len(sends_of(recs, pid))} of 50 events")
    res.report(name, problems)


def test_stuck_pipe(res, build, workdir):
    """stdout on a pipe whose reader stops reading: the daemon waits at most 1 s per batch,
    drops and counts the rest, keeps the other sinks complete, exits at once on SIGTERM, and
    the reader, once it reads again, sees only whole lines."""
    name = "sink_stuck_pipe"
    path = os.path.join(workdir, "stuck.jsonl")
    r, w = os.pipe()
    d = SinkDaemon(build, ["-o", "stdout", "-o", "file:" + path, "--stats-interval", "3600"],
                   stdout=w)
    os.close(w)
    reason = d.wait_ready()
    if reason:
        os.close(r)
        res.report(name, [reason])
        return
    problems = []
    pid = burst(build, 3000)  # ~1.6 MB of JSON: far more than a pipe holds
    time.sleep(2.5)
    t0 = time.monotonic()
    rc = d.stop()
    took = time.monotonic() - t0
    if rc != 0 or took > 10:
        problems.append(f"SIGTERM with a stuck stdout reader: exit {rc} after {took:.1f} s")
    if "sink stdout: write failed" not in d.stderr:
        problems.append(f"the stuck stdout is not reported: {d.stderr[-300:]!r}")
    recs, p = read_lines(path)
    problems += p
    if len(sends_of(recs, pid)) != 3000:
        problems.append(f"the file sink got {len(sends_of(recs, pid))} of 3000 events")
    os.set_blocking(r, False)
    data = b""
    while True:
        try:
            chunk = os.read(r, 1 << 16)
        except BlockingIOError:
            break
        if not chunk:
            break
        data += chunk
    os.close(r)
    lines = data.split(b"\n")
    if lines[-1]:
        problems.append("the pipe ends with a partial line")
    for i, line in enumerate(lines[:-1]):
        try:
            json.loads(line)
        except ValueError:
            problems.append(f"pipe line {i + 1} is not whole JSON: {line[:80]!r}")
            break
    if len(lines) - 1 >= 3000:
        problems.append(f"the pipe holds {len(lines) - 1} lines: nothing was dropped?")
    res.report(name, problems)


def test_device(res, build, workdir):
    """A device sink (our own node of /dev/null's driver) is never rotated away."""
    name = "sink_device_not_rotated"
    node = os.path.join(workdir, "null")
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    d = SinkDaemon(build, ["-o", "file:" + node, "--rotate-size", "4096",
                           "--stats-interval", "3600"])
    reason = d.wait_ready()
    if reason:
        res.report(name, [reason])
        return
    burst(build, 200)
    time.sleep(0.5)
    rc = d.stop()
    problems = [] if rc == 0 else [f"exit status {rc}: {d.stderr!r}"]
    if not stat.S_ISCHR(os.stat(node).st_mode):
        problems.append("the device node was replaced by a regular file")
    if os.path.exists(node + ".1"):
        problems.append("the device was rotated (null.1 exists)")
    res.report(name, problems)


def test_syslog(res, build, workdir):
    """-o syslog: every record as one syslog message (daemon.info), the line the file gets;
    a syslog daemon that stops reading costs records (counted), never a stuck daemon.

    The test plays syslogd: it binds /dev/log itself, so it runs only where no syslog daemon
    owns /dev/log (the fresh machines CI uses); elsewhere it says why it did not run."""
    name = "sink_syslog"
    if os.path.exists("/dev/log"):
        if os.environ.get("CI") == "true":
            res.report(name, ["/dev/log exists: cannot stand in for syslogd here"])
        else:
            print(f"skip {name}: /dev/log exists (a syslog daemon runs here); the test binds "
                  "/dev/log itself")
        return
    import socket
    import threading
    log = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    log.bind("/dev/log")
    log.settimeout(0.2)
    msgs, reading, stop = [], threading.Event(), threading.Event()

    def syslogd():
        while not stop.is_set():
            if not reading.is_set():
                time.sleep(0.05)
                continue
            try:
                msgs.append(log.recv(65536).decode("utf-8", "replace"))
            except socket.timeout:
                pass

    t = threading.Thread(target=syslogd, daemon=True)
    t.start()
    problems = []
    try:
        # 1. A reading syslog daemon gets every record.
        reading.set()
        path = os.path.join(workdir, "syslog-twin.jsonl")
        d = SinkDaemon(build, ["-o", "syslog", "-o", "file:" + path, "--stats-interval", "0"])
        reason = d.wait_ready()
        if reason:
            res.report(name, [reason])
            return
        pid = burst(build, 20)
        time.sleep(1.0)
        rc = d.stop()
        if rc != 0:
            problems.append(f"exit status {rc}")
        time.sleep(0.3)
        got = {}
        for m in msgs:
            # <30>Nov 23 00:40:00 sendguardd[PID]: {...} (daemon.info)
            if not m.startswith("<30>") or "sendguardd[" not in m or "]: {" not in m:
                continue
            try:
                rec = json.loads(m.split("]: ", 1)[1])
            except ValueError:
                problems.append(f"not JSON after the syslog header: {m[:120]!r}")
                continue
            if rec.get("type") == "send" and rec["proc"]["pid"] == pid:
                got[rec["seq"]] = rec
        recs, bad = read_lines(path)
        problems += bad
        want = {r["seq"]: r for r in sends_of(recs, pid)}
        if len(want) != 20:
            problems.append(f"file sink has {len(want)} of 20 sends")
        if got != want:
            problems.append(f"syslog has {len(got)} of the burst's sends as daemon.info "
                            f"messages, the file {len(want)}; or their contents differ")

        # 2. A syslog daemon that does not read: records dropped and counted, the file sink
        # complete, SIGTERM still honoured at once.
        reading.clear()
        time.sleep(0.3)
        path2 = os.path.join(workdir, "syslog-stuck.jsonl")
        d = SinkDaemon(build, ["-o", "syslog", "-o", "file:" + path2, "--stats-interval", "0"])
        reason = d.wait_ready()
        if reason:
            problems.append(reason)
        else:
            pid = burst(build, 200)
            time.sleep(1.0)
            t0 = time.monotonic()
            rc = d.stop()
            if rc != 0 or time.monotonic() - t0 > 10:
                problems.append(f"with a stuck syslog reader: exit {rc} after "
                                f"{time.monotonic() - t0:.1f} s")
            if "sink syslog: write failed" not in d.stderr:
                problems.append("the failing syslog sink was not reported")
            recs, bad = read_lines(path2)
            problems += bad
            if len(sends_of(recs, pid)) != 200:
                problems.append(f"file sink next to a stuck syslog has "
                                f"{len(sends_of(recs, pid))} of 200 sends")
    finally:
        stop.set()
        t.join(2)
        log.close()
        os.unlink("/dev/log")
    res.report(name, problems)


def run_sink_tests(res, build, workdir):
    for test in (test_rotation, test_reopen, test_disk_full, test_disk_full_truncated,
                 test_symlink_start, test_symlink_reopen, test_symlink_rotation, test_fifo_sink,
                 test_closed_pipe, test_stuck_pipe, test_device, test_syslog):
        name = {test_symlink_start: "sink_symlink_refused",
                test_fifo_sink: "sink_fifo"}.get(test, "sink_" + test.__name__[len("test_"):])
        if name == "sink_reopen":
            name = "sink_reopen_sigusr1"
        if name == "sink_device":
            name = "sink_device_not_rotated"
        if res.wanted(name):
            test(res, build, workdir)
