#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""sendguard benchmarks: the README's performance targets, measured side by side.

    bench/run.py --build build [--only NAME[,NAME...]] [--pairs N] [--iterations N]

Method. The workload is build/bench/sendloop: a tight loop of 64-byte UDP sends to a socket
on 127.0.0.1 (see its header comment). The machines this runs on have few, shared, noisy
cores, so no absolute number is compared with a target. Each scenario runs PAIRS of
(baseline, candidate) sendloop runs back to back and the figure is the median over the pairs
of candidate_ns / baseline_ns - 1. The order inside a pair alternates (A B, B A, A B, ...)
so that a drift in machine speed during the run (frequency, neighbours) does not favour
either arm. The figure judged against the targets uses each run's total time (--stat
total). The "chunk" column compares the runs' median 4,000-send chunk instead: it is far
less moved by a burst of unrelated load on a shared core, but may miss a traced cost that
comes in rare bursts, so it is shown as a cross-check (--stat chunk judges by it).

Why the daemon is started and stopped for every traced run. sendguardd's BPF programs are
attached system-wide, so while it runs every send on the host is traced, including the
"untraced" arm's. A daemon kept running across the traced runs would therefore need the
untraced runs to happen somewhere else, which is impossible on one host. Instead each
traced run gets its own daemon: start it, wait for its "ready" line (programs attached),
run sendloop, read its RSS and CPU time, SIGTERM it (it writes everything captured and
exits, detaching its programs), then check that run's output file. Untraced runs happen
while no daemon of ours is running; before each one we check that no BPF program loaded
after the benchmark started is still present (bpftool) and that no other sendguardd runs,
and warn otherwise. A side benefit: every traced run's events are checked one by one
(0 lost, one send event per sendloop send).

Floors. "floor" and "floor-hook" run the same pairs against build/bench/floor, a program
that does nothing, attached where sendguard attaches (syscalls:sys_exit_sendto; cgroup
sendmsg4). Their figure is what any program there costs a send on this machine before it
does any work: the part of a target that no implementation can go below. The tracing and
enforce scenarios print their own figure minus the floor next to it.

Each scenario is a function registered in SCENARIOS; it records targets with ctx.target().
Benchmarks report, they do not gate: the exit status is 0 unless something crashed (the
daemon would not start or died, sendloop failed). The last line is `N passed, N failed`
counting the targets met and missed.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

# The cgroup v2 mount discovery of the test suites (tests/integration/harness.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "integration"))
from harness import cgroup2_mount  # noqa: E402

OVERHEAD_TARGET = 0.05
POLICY_DELTA_TARGET = 0.02
ENFORCE_TARGET = 0.03
RSS_TARGET_KIB = 32 * 1024
ENCODER_TARGET = 1_000_000


class BenchError(Exception):
    """Something crashed or could not run: reported, and the exit status becomes 1."""


class Skip(Exception):
    """A scenario the daemon cannot run yet (a missing option): reported, not counted."""


def log(msg=""):
    print(msg, flush=True)


def warn(msg):
    print(f"warning: {msg}", flush=True)


# --- system probes -------------------------------------------------------------------------


def bpf_prog_ids():
    """IDs of the BPF programs loaded on the host, or None without a usable bpftool."""
    bpftool = shutil.which("bpftool")
    if not bpftool:
        return None
    try:
        out = subprocess.run([bpftool, "-j", "prog", "show"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
        return {p["id"] for p in json.loads(out or "[]")}
    except (subprocess.SubprocessError, ValueError, KeyError):
        return None


def held_prog_ids(pid):
    """IDs of the BPF programs PID holds through its fds (prog and link fds name a prog_id
    in fdinfo; works without a bpftool built with pid support)."""
    ids = set()
    d = f"/proc/{pid}/fdinfo"
    try:
        fds = os.listdir(d)
    except OSError:
        return ids
    for fd in fds:
        try:
            with open(f"{d}/{fd}") as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except (OSError, ValueError):
            pass
    return ids


def bpf_prog_stats(pid):
    """{name: (run_cnt, run_time_ns)} of the BPF programs held by PID. The counts only grow
    while kernel.bpf_stats_enabled=1, and cover every process's syscalls, not only ours."""
    bpftool = shutil.which("bpftool")
    ids = held_prog_ids(pid)
    if not bpftool or not ids:
        return {}
    try:
        out = subprocess.run([bpftool, "-j", "prog", "show"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
        progs = json.loads(out or "[]")
    except (subprocess.SubprocessError, ValueError):
        return {}
    res = {}
    for p in progs:
        if p.get("id") in ids:
            name = p.get("name") or str(p.get("id"))
            cnt, ns = res.get(name, (0, 0))
            res[name] = (cnt + p.get("run_cnt", 0), ns + p.get("run_time_ns", 0))
    return res


def other_daemons(exclude=()):
    """PIDs of sendguardd processes other than ours."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in exclude:
            continue
        try:
            with open(f"/proc/{d}/comm", "rb") as f:
                if f.read().strip() == b"sendguardd":
                    pids.append(int(d))
        except OSError:
            pass
    return pids


def proc_status(pid, key):
    """A kB field (VmRSS, VmHWM) of /proc/PID/status, in KiB, or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def proc_cpu_s(pid):
    """User + system CPU seconds of all threads of PID so far, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


# --- the workload --------------------------------------------------------------------------


def run_sendloop(ctx, connected=False, prefix=(), iterations=None):
    """sendloop, under PREFIX (e.g. `sendguard run --`) when given."""
    n = iterations or ctx.args.iterations
    cmd = list(prefix) + [ctx.sendloop, "--warmup", str(ctx.args.warmup),
                          "--chunks", str(max(1, min(10000, n // 4000)))]
    if connected == "write":
        cmd.append("--write")
    elif connected == "getppid":
        cmd.append("--getppid")
    elif connected:
        cmd.append("--connected")
    if ctx.loop_cpu is not None:
        cmd += ["--cpu", str(ctx.loop_cpu)]
    cmd.append(str(n))
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise BenchError(f"sendloop exited {p.returncode}: {p.stderr.strip()}")
    try:
        res = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise BenchError(f"sendloop printed no JSON: {p.stdout!r}")
    if res["errors"]:
        warn(f"sendloop: {res['errors']} of {res['iterations']} sends failed")
    return res


# --- arms: what runs around one sendloop run -----------------------------------------------


class Untraced:
    """No daemon: checks that nothing of ours is still attached."""

    label = "untraced"

    def __init__(self, ctx, iterations=None):
        self.ctx = ctx
        self.iterations = iterations

    def run(self, connected=False):
        self.ctx.check_quiet()
        res = run_sendloop(self.ctx, connected, iterations=self.iterations)
        return {"loop": res}


class Wrapped:
    """sendloop under a wrapper command: `sendguard run` or the notify_floor helper."""

    def __init__(self, ctx, label, prefix, iterations=None, events=None):
        self.ctx = ctx
        self.label = label
        self.prefix = prefix
        self.iterations = iterations
        self.events = events  # the file sink to count and remove after each run

    def run(self, connected=False):
        self.ctx.check_quiet()
        res = run_sendloop(self.ctx, connected, prefix=self.prefix, iterations=self.iterations)
        out = {"loop": res}
        if self.events and os.path.exists(self.events):
            with open(self.events, "rb") as f:
                out["events"] = sum(1 for _ in f)
            os.unlink(self.events)
        return out


class Daemon:
    """One sendguardd per run, writing JSON to a file under /tmp (see the module comment)."""

    def __init__(self, ctx, label="traced", policy=None, extra=(), expect_rule=None,
                 after_loop=None):
        self.ctx = ctx
        self.label = label
        self.policy = policy
        self.extra = list(extra)
        self.expect_rule = expect_rule
        self.after_loop = after_loop

    def start(self, out_path):
        a = self.ctx.args
        # Its own pin and state directories and no control socket: a benchmark daemon must
        # not adopt (and, exiting, remove) the pins of a --persist daemon of the host.
        cmd = [self.ctx.daemon, "-f", "-o", f"file:{out_path}", "--pin-dir",
               f"/sys/fs/bpf/sendguard-bench-{os.getpid()}", "--state-dir",
               os.path.join(self.ctx.tmpdir, "state"), "--control", "none"]
        if a.ringbuf_size:
            cmd += ["--ringbuf-size", str(a.ringbuf_size)]
        if self.policy:
            cmd += ["-p", self.policy]
        if self.ctx.daemon_has("--rotate-size"):
            cmd += ["--rotate-size", "0"]  # one file per run; the checker reads PATH.N too
        cmd += self.extra + a.daemon_arg
        cpus = self.ctx.daemon_cpus

        def pin():
            if cpus:
                os.sched_setaffinity(0, cpus)

        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, errors="replace",
                                preexec_fn=pin)
        ready = threading.Event()
        tail = []
        saw_ready = []

        def reader():
            for line in proc.stderr:
                tail.append(line.rstrip("\n"))
                del tail[:-20]
                if "ready" in line:
                    saw_ready.append(True)
                    ready.set()
            ready.set()  # EOF: the daemon is exiting

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        if not ready.wait(a.ready_timeout) or not saw_ready or proc.poll() is not None:
            self._kill(proc)
            t.join(5)
            raise BenchError(f"sendguardd did not become ready ({' '.join(cmd)}); "
                             f"exit {proc.returncode}; stderr: " + " | ".join(tail[-8:]))
        return proc, t, tail

    @staticmethod
    def _kill(proc):
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    def run(self, connected=False):
        ctx = self.ctx
        fd, out_path = tempfile.mkstemp(prefix="sendguard-bench-", suffix=".jsonl", dir="/tmp")
        os.close(fd)
        proc = None
        try:
            proc, reader, tail = self.start(out_path)
            ctx.our_pids.add(proc.pid)
            cpu0 = proc_cpu_s(proc.pid)
            res = run_sendloop(ctx, connected)
            cpu1 = proc_cpu_s(proc.pid)
            rss = proc_status(proc.pid, "VmRSS")
            hwm = proc_status(proc.pid, "VmHWM")
            extra = self.after_loop(ctx) if self.after_loop else {}
            bpf = bpf_prog_stats(proc.pid) if ctx.args.bpf_stats else {}
            if proc.poll() is not None:
                raise BenchError(f"sendguardd died during the run (exit {proc.returncode}): "
                                 + " | ".join(tail[-8:]))
            t0 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            try:
                rc = proc.wait(ctx.args.stop_timeout)
            except subprocess.TimeoutExpired:
                self._kill(proc)
                raise BenchError(f"sendguardd did not exit within {ctx.args.stop_timeout} s "
                                 "of SIGTERM")
            drain_s = time.monotonic() - t0
            reader.join(5)
            if rc != 0:
                raise BenchError(f"sendguardd exited {rc} on SIGTERM: " + " | ".join(tail[-8:]))
            # a getppid loop sends nothing: every event of its pid would be wrong
            expected = 0 if connected == "getppid" else res["iterations"] + res["warmup"]
            check = check_output(out_path, res["pid"], expected, self.expect_rule)
            check.update(extra)
            daemon_cpu = (cpu1 - cpu0) if cpu0 is not None and cpu1 is not None else None
            return {"loop": res, "check": check, "rss_kib": rss, "hwm_kib": hwm,
                    "daemon_cpu_s": daemon_cpu, "drain_s": drain_s, "bpf": bpf,
                    "out_bytes": sum(os.path.getsize(p) for p in output_files(out_path))}
        finally:
            if proc is not None:
                self._kill(proc)
                ctx.our_pids.discard(proc.pid)
            for path in output_files(out_path):
                if ctx.args.keep:
                    log(f"  kept {path}")
                else:
                    try:
                        os.unlink(path)
                    except OSError:
                        pass


class Floor:
    """build/bench/floor: one empty program (ARGS say which), attached for one run."""

    def __init__(self, ctx, args, label):
        self.ctx = ctx
        self.args = args
        self.label = label
        self.path = os.path.join(ctx.build, "bench", "floor")

    def run(self, connected=False):
        ctx = self.ctx
        proc = subprocess.Popen([self.path] + self.args, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            line = proc.stderr.readline()
            if "ready" not in line:
                proc.wait(10)
                raise BenchError(f"{self.path} did not attach: {line.strip()} "
                                 f"{proc.stderr.read().strip()}")
            ctx.our_pids.add(proc.pid)
            res = run_sendloop(ctx, connected)
            proc.send_signal(signal.SIGTERM)
            out = proc.communicate(timeout=30)[1]
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            ctx.our_pids.discard(proc.pid)
        m = re.search(r"runs (\d+)", out)
        runs = int(m.group(1)) if m else 0
        if connected != "getppid" and runs < res["iterations"]:
            raise BenchError(f"the empty program ran {runs} times for {res['iterations']} "
                             "sends: it was not in the path")
        return {"loop": res}


class Bpftrace:
    """bpftrace printing 5 fields of every sendto on the host to a file, for one run (a
    peer a user would reach for instead; scenario peers)."""

    label = "bpftrace"
    SCRIPT = ('tracepoint:syscalls:sys_exit_sendto '
              '{ printf("%d %d %s %d %llu\\n", pid, tid, comm, args->ret, nsecs); }')

    def __init__(self, ctx, path):
        self.ctx = ctx
        self.path = path

    def run(self, connected=False):
        out = os.path.join(self.ctx.tmpdir, "bpftrace.out")
        proc = subprocess.Popen([self.path, "-o", out, "-e", self.SCRIPT],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        try:
            # Its output file is fully buffered: "Attaching N probes" comes first, the
            # BEGIN line only at exit. Attaching takes milliseconds after that line; the
            # line count checked after the run says whether every send was seen.
            deadline = time.monotonic() + self.ctx.args.ready_timeout
            while not (os.path.exists(out) and b"Attaching" in open(out, "rb").read(64)):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise BenchError("bpftrace did not attach: " + (
                        proc.stderr.read().strip() if proc.poll() is not None else "timeout"))
                time.sleep(0.05)
            time.sleep(1)
            self.ctx.our_pids.add(proc.pid)
            res = run_sendloop(self.ctx, connected)
            proc.send_signal(signal.SIGINT)
            proc.wait(self.ctx.args.stop_timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            self.ctx.our_pids.discard(proc.pid)
        lines = 0
        if os.path.exists(out):
            with open(out, "rb") as f:
                lines = sum(1 for _ in f)
            os.unlink(out)
        if lines < res["iterations"] + res["warmup"]:
            warn(f"bpftrace printed {lines} lines for {res['iterations'] + res['warmup']} "
                 "sends: it missed some")
        return {"loop": res, "lines": lines}


class Auditd:
    """auditd with one rule on sendto, sendmsg and sendmmsg (a peer; scenario peers): a
    private configuration and log under the benchmark's temporary directory, started and
    stopped around one run; the rule and the kernel's audit state are restored after."""

    label = "auditd"

    def __init__(self, ctx, auditd, auditctl):
        self.ctx = ctx
        self.auditd = auditd
        self.auditctl = auditctl
        self.dir = os.path.join(ctx.tmpdir, "audit")
        os.makedirs(self.dir, exist_ok=True)
        self.log = os.path.join(self.dir, "audit.log")
        with open(os.path.join(self.dir, "auditd.conf"), "w") as f:
            f.write(f"log_file = {self.log}\nlog_format = RAW\nwrite_logs = yes\n"
                    "flush = INCREMENTAL_ASYNC\nfreq = 50\nmax_log_file = 0\n"
                    "max_log_file_action = ignore\nspace_left = 2\n"
                    "space_left_action = ignore\nadmin_space_left = 1\n"
                    "admin_space_left_action = ignore\ndisk_full_action = ignore\n"
                    "disk_error_action = ignore\nnum_logs = 1\n")
        os.chmod(os.path.join(self.dir, "auditd.conf"), 0o640)

    def ctl(self, *args, check=True):
        p = subprocess.run([self.auditctl] + list(args), capture_output=True, text=True,
                           timeout=30)
        if check and p.returncode != 0:
            raise BenchError(f"auditctl {' '.join(args)}: {p.stderr.strip()}")
        return p.stdout

    def run(self, connected=False):
        status = self.ctl("-s")
        if re.search(r"^pid [1-9]", status, re.M):
            raise Skip("an audit daemon already runs on this host: not measured")
        m = re.search(r"^enabled (\d)", status, re.M)
        enabled = m.group(1) if m else None  # auditd enables auditing; put it back after
        proc = subprocess.Popen([self.auditd, "-n", "-c", self.dir], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + self.ctx.args.ready_timeout
            while not re.search(r"^pid [1-9]", self.ctl("-s"), re.M):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise BenchError("auditd did not start: " + (
                        proc.stderr.read().strip() if proc.poll() is not None else "timeout"))
                time.sleep(0.05)
            self.ctl("-e", "1")
            self.ctl("-a", "always,exit", "-F", "arch=b64", "-S", "sendto", "-S", "sendmsg",
                     "-S", "sendmmsg", "-k", "sendguard-bench")
            self.ctx.our_pids.add(proc.pid)
            res = run_sendloop(self.ctx, connected)
        finally:
            self.ctl("-d", "always,exit", "-F", "arch=b64", "-S", "sendto", "-S", "sendmsg",
                     "-S", "sendmmsg", "-k", "sendguard-bench", check=False)
            if enabled is not None:
                self.ctl("-e", enabled, check=False)
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            self.ctx.our_pids.discard(proc.pid)
        records = 0
        if os.path.exists(self.log):
            with open(self.log, "rb") as f:
                records = sum(1 for line in f if b"type=SYSCALL" in line)
            os.unlink(self.log)
        return {"loop": res, "records": records}


def output_files(path):
    """PATH and its rotated predecessors PATH.1, PATH.2, ..., oldest first."""
    rotated = []
    n = 1
    while os.path.exists(f"{path}.{n}"):
        rotated.append(f"{path}.{n}")
        n += 1
    return rotated[::-1] + ([path] if os.path.exists(path) else [])


def check_output(path, pid, expected, expect_rule=None):
    """Counts what the daemon wrote (PATH and its rotations): the sends of PID it accounts
    for (send events, and with --flows the counts of flow records), lost records, seq
    gaps, unparsable lines, events not judged by EXPECT_RULE."""
    c = {"expected": expected, "sends": 0, "lost_records": 0, "lost": 0, "bad_lines": 0,
         "seq_gaps": 0, "records": 0, "rule_mismatch": 0, "errno_set": 0, "sample": None,
         "events": 0, "flow_counted": 0, "flow_records": 0}
    last_seq = None
    for raw in (line for p in output_files(path) for line in open(p, "rb")):
        try:
            ev = json.loads(raw)
        except ValueError:
            ev = None
        if not isinstance(ev, dict):
            c["bad_lines"] += 1
            continue
        c["records"] += 1
        seq = ev.get("seq")
        if isinstance(seq, int):
            if last_seq is not None and seq != last_seq + 1:
                c["seq_gaps"] += 1
            last_seq = seq
        typ = ev.get("type")
        if typ == "lost":
            c["lost_records"] += 1
            c["lost"] += ev.get("count") or 0
        elif typ == "flow" and (ev.get("proc") or {}).get("pid") == pid:
            # --flows: sends counted in the kernel, carried by flow records
            c["sends"] += ev.get("count") or 0
            c["flow_counted"] += ev.get("count") or 0
            c["flow_records"] += 1
        elif typ == "send" and (ev.get("proc") or {}).get("pid") == pid:
            c["sends"] += 1
            c["events"] += 1
            if c["sample"] is None:
                c["sample"] = raw.decode(errors="replace").strip()
            if ev.get("errno") is not None:
                c["errno_set"] += 1
            if expect_rule is not None and (ev.get("policy") or {}).get("rule") != expect_rule:
                c["rule_mismatch"] += 1
    return c


# --- pairs ---------------------------------------------------------------------------------


def fmt_ns(x):
    return f"{x:8.1f}"


def pct(x):
    return f"{x * 100:+.2f}%"


def run_pairs(ctx, title, base, cand, connected=False):
    """Alternating (base, cand) pairs; returns (median overhead by --stat, per-pair dicts)."""
    n = ctx.args.pairs
    sends = getattr(cand, "iterations", None) or ctx.args.iterations
    log(f"\n== {title}: {base.label} vs {cand.label}, {n} pairs x {sends} sends"
        f"{'' if not connected else ' (connected)' if connected is True else f' ({connected})'}")
    hdr = (f"{'pair':>4} {'order':<5} {base.label + ' ns/op':>16} {cand.label + ' ns/op':>16} "
           f"{'overhead':>9} {'chunk':>8}")
    traced_arm = cand if isinstance(cand, Daemon) else base if isinstance(base, Daemon) else None
    if traced_arm:
        hdr += f" {'events':>15} {'lost':>5} {'dCPU ms':>8} {'RSS MiB':>7}"
    log(hdr)
    pairs = []
    for i in range(n):
        order = (base, cand) if i % 2 == 0 else (cand, base)
        got = {}
        for arm in order:
            got[id(arm)] = arm.run(connected)
        b, c = got[id(base)], got[id(cand)]
        ratio = c["loop"]["ns"] / b["loop"]["ns"] - 1
        chunk = c["loop"]["chunk_ns_per_op_median"] / b["loop"]["chunk_ns_per_op_median"] - 1
        p = {"base": b, "cand": c, "ratio": ratio, "chunk": chunk}
        pairs.append(p)
        line = (f"{i + 1:>4} {'AB' if i % 2 == 0 else 'BA':<5} "
                f"{fmt_ns(b['loop']['ns_per_op']):>16} {fmt_ns(c['loop']['ns_per_op']):>16} "
                f"{pct(ratio):>9} {pct(chunk):>8}")
        if traced_arm:
            t = got[id(traced_arm)]
            ch = t["check"]
            cpu = t["daemon_cpu_s"]
            line += (f" {ch['sends']:>7}/{ch['expected']:<7} {ch['lost']:>5}"
                     f" {cpu * 1000 if cpu is not None else float('nan'):8.0f}"
                     f" {(t['rss_kib'] or 0) / 1024:7.1f}")
        log(line)
    ratios = [p["ratio"] for p in pairs]
    chunks = [p["chunk"] for p in pairs]
    med, med_chunk = statistics.median(ratios), statistics.median(chunks)
    log(f"   median {pct(med)} (min {pct(min(ratios))}, max {pct(max(ratios))}); "
        f"by median chunk: {pct(med_chunk)} (min {pct(min(chunks))}, max {pct(max(chunks))})")
    return (med_chunk if ctx.args.stat == "chunk" else med), pairs


def traced_results(pairs, arm_key):
    return [p[arm_key] for p in pairs]


def summarize_events(ctx, name, runs):
    """Targets and notes common to every traced arm: 0 lost, one event per send."""
    lost = sum(r["check"]["lost"] for r in runs)
    lost_records = sum(r["check"]["lost_records"] for r in runs)
    missing = sum(r["check"]["expected"] - r["check"]["sends"] for r in runs)
    bad = sum(r["check"]["bad_lines"] for r in runs)
    gaps = sum(r["check"]["seq_gaps"] for r in runs)
    ok = lost == 0 and lost_records == 0 and missing == 0 and bad == 0
    detail = (f"lost {lost} in {lost_records} lost records, "
              f"{sum(r['check']['sends'] for r in runs)} of "
              f"{sum(r['check']['expected'] for r in runs)} sendloop sends seen as events"
              + (f" or in flow counts ({sum(r['check']['events'] for r in runs)} events, "
                 f"{sum(r['check']['flow_counted'] for r in runs)} counted in "
                 f"{sum(r['check']['flow_records'] for r in runs)} flow records)"
                 if any(r["check"]["flow_records"] for r in runs) else ""))
    if missing < 0:
        detail += f" ({-missing} more events than sends)"
    if bad:
        detail += f", {bad} unparsable lines"
    if gaps:
        detail += f", {gaps} seq gaps"
    ctx.target(f"{name}: 0 events lost", ok, detail)
    cpu = [r["daemon_cpu_s"] for r in runs if r["daemon_cpu_s"] is not None]
    if cpu:
        per_ev = statistics.median(cpu) / runs[0]["check"]["expected"] * 1e9
        log(f"   daemon CPU during a run: median {statistics.median(cpu) * 1000:.0f} ms "
            f"(~{per_ev:.0f} ns per event); drain after SIGTERM: median "
            f"{statistics.median(r['drain_s'] for r in runs) * 1000:.0f} ms; "
            f"output: {statistics.median(r['out_bytes'] for r in runs) / 1e6:.1f} MB per run")
    if any(r["bpf"] for r in runs):
        log("   BPF programs (bpf_stats_enabled=1; totals since load, warmup and other "
            "processes' sends included):")
        names = sorted({n for r in runs for n in r["bpf"] if r["bpf"][n][0]})
        for n in names:
            cnt = [r["bpf"][n][0] for r in runs if n in r["bpf"]]
            per = [r["bpf"][n][1] / r["bpf"][n][0] for r in runs
                   if n in r["bpf"] and r["bpf"][n][0]]
            log(f"     {n:<24} runs/run median {statistics.median(cnt):>9.0f}, ns per run "
                f"median {statistics.median(per) if per else float('nan'):7.1f}")
    sample = next((r["check"]["sample"] for r in runs if r["check"]["sample"]), None)
    if sample and ctx.args.verbose:
        log(f"   sample event: {sample}")
    return lost


# --- scenarios -----------------------------------------------------------------------------


def scenario_noise(ctx):
    """Untraced vs untraced: the noise floor of the method on this machine (no target)."""
    u1, u2 = Untraced(ctx), Untraced(ctx)
    u2.label = "untraced'"
    med, pairs = run_pairs(ctx, "noise floor", u1, u2)
    spread = statistics.pstdev(p["ratio"] for p in pairs)
    log(f"   noise floor: median {pct(med)}, stdev of pair ratios {spread * 100:.2f}% "
        "(a traced-vs-untraced difference below this is not resolvable)")


def need_floor(ctx):
    if not os.access(os.path.join(ctx.build, "bench", "floor"), os.X_OK):
        raise BenchError("build/bench/floor not built (run make)")
    if os.geteuid() != 0:
        raise BenchError("the floor scenarios need root (sudo make bench)")


def scenario_floor(ctx):
    """An empty program on the tracer's tracepoint: the cost of being attached at all."""
    need_floor(ctx)
    med, _ = run_pairs(ctx, "floor: empty program on syscalls:sys_exit_sendto", Untraced(ctx),
                       Floor(ctx, ["tracepoint"], "empty tracepoint"))
    ctx.floor = med
    log(f"floor: median {pct(med)}: what any tracer on this tracepoint costs a send here "
        f"before doing any work; the tracing target ({OVERHEAD_TARGET * 100:.0f}%) leaves "
        f"{pct(OVERHEAD_TARGET - med)} for capturing, judging and writing the event")


def scenario_floor_hook(ctx):
    """An empty cgroup sendmsg4 program: what any enforcement hook costs an allowed send."""
    need_floor(ctx)
    cg = cgroup2_mount()
    if not cg:
        raise Skip("no cgroup v2 mount")
    med, _ = run_pairs(ctx, f"floor: empty cgroup sendmsg4 program on {cg}", Untraced(ctx),
                       Floor(ctx, ["sendmsg4", cg], "empty sendmsg4"))
    ctx.floor_hook = med
    log(f"floor-hook: median {pct(med)}: what any sendmsg4 hook costs an unconnected UDP send "
        f"here before doing any work (enforcement target {ENFORCE_TARGET * 100:.0f}%)")


def scenario_tracing(ctx):
    """Tracing every send as JSON to a file: overhead <= 5%, 0 lost, RSS <= 32 MiB."""
    ctx.need_daemon()
    base, traced = Untraced(ctx), Daemon(ctx)
    med, pairs = run_pairs(ctx, "tracing overhead (sendto)", base, traced)
    ctx.tracing = med
    runs = [p["cand"] for p in pairs]
    lost = summarize_events(ctx, "tracing", runs)
    log(f"tracing overhead: median {med * 100:.2f}% (target <= {OVERHEAD_TARGET * 100:.0f}%), "
        f"lost: {lost}")
    if ctx.floor is not None:
        log(f"   of which the floor (empty program, scenario floor): {pct(ctx.floor)}; "
            f"sendguard's own work: {pct(med - ctx.floor)}")
    ctx.target("tracing overhead <= 5%", med <= OVERHEAD_TARGET, f"median {pct(med)}")
    rss = [r["rss_kib"] for r in runs if r["rss_kib"] is not None]
    hwm = [r["hwm_kib"] for r in runs if r["hwm_kib"] is not None]
    if rss:
        ctx.target("daemon RSS <= 32 MiB", max(rss) <= RSS_TARGET_KIB,
                   f"VmRSS after a traced run: max {max(rss) / 1024:.1f} MiB, median "
                   f"{statistics.median(rss) / 1024:.1f} MiB; peak VmHWM "
                   f"{max(hwm) / 1024 if hwm else float('nan'):.1f} MiB")
    else:
        ctx.target("daemon RSS <= 32 MiB", False, "could not read VmRSS")


def scenario_variant(ctx, variant):
    """Tracing with a fallback program variant forced (what kernels without the best one
    run): the same workload and checks as "tracing"."""
    ctx.need_daemon()
    med, pairs = run_pairs(ctx, f"tracing overhead, BPF variant {variant} (sendto)",
                           Untraced(ctx), Daemon(ctx, extra=["--bpf-variant", variant]))
    lost = summarize_events(ctx, f"tracing ({variant})", [p["cand"] for p in pairs])
    log(f"tracing overhead, variant {variant}: median {pct(med)}, lost: {lost}")
    if ctx.floor is not None:
        log(f"   of which the floor: {pct(ctx.floor)}; the variant's own work: "
            f"{pct(med - ctx.floor)}")
    ctx.variants[variant] = med


def scenario_tracing_core(ctx):
    """Tracing with the core variant (kernels without bpf_rdonly_cast, e.g. 6.1)."""
    scenario_variant(ctx, "core")


def scenario_tracing_compat(ctx):
    """Tracing with the compat variant (kernels before 5.17, e.g. 5.10)."""
    scenario_variant(ctx, "compat")


def scenario_flows(ctx):
    """--flows: steady traffic on one known flow, counted in the kernel (no event per send):
    <= the floor + 3 points, and every send accounted for (events + flow counts + lost)."""
    ctx.need_daemon()
    med, pairs = run_pairs(ctx, "flows overhead (sendto, one flow, --flows)", Untraced(ctx),
                           Daemon(ctx, label="flows", extra=["--flows"]))
    runs = [p["cand"] for p in pairs]
    lost = summarize_events(ctx, "flows", runs)
    log(f"flows overhead: median {pct(med)}, lost: {lost}; events per run: median "
        f"{statistics.median(r['check']['events'] for r in runs):.0f}, flow records per run: "
        f"median {statistics.median(r['check']['flow_records'] for r in runs):.0f}")
    if ctx.floor is None:
        ctx.target("flows <= floor + 3 points", False, "the floor scenario did not run")
        return
    log(f"   of which the floor: {pct(ctx.floor)}; counting the flow: {pct(med - ctx.floor)}")
    ctx.target("flows <= floor + 3 points", med <= ctx.floor + 0.03,
               f"median {pct(med)}, floor {pct(ctx.floor)}")


def scenario_connected(ctx):
    """The same with connect() + send(): the peer-address path of the tracer."""
    ctx.need_daemon()
    med, pairs = run_pairs(ctx, "tracing overhead (connected send)", Untraced(ctx),
                           Daemon(ctx), connected=True)
    summarize_events(ctx, "tracing (connected)", [p["cand"] for p in pairs])
    ctx.target("tracing overhead, connected send <= 5%", med <= OVERHEAD_TARGET,
               f"median {pct(med)}")


def scenario_paths(ctx):
    """write() on a connected UDP socket: traced by the other-paths program at the socket
    layer (not a send syscall), next to its floor (an empty program there)."""
    ctx.need_daemon()
    need_floor(ctx)
    floor, _ = run_pairs(ctx, "floor: empty program on sock:sock_send_length (write)",
                         Untraced(ctx), Floor(ctx, ["paths"], "empty tp_btf"),
                         connected="write")
    med, pairs = run_pairs(ctx, "tracing overhead (write on a connected socket)", Untraced(ctx),
                           Daemon(ctx), connected="write")
    lost = summarize_events(ctx, "tracing (write)", [p["cand"] for p in pairs])
    log(f"tracing overhead, write(): median {pct(med)}, lost: {lost}; the floor (empty "
        f"program at the socket layer): {pct(floor)}; sendguard's own work: {pct(med - floor)}")


THROUGHPUT_CPU_TARGET_NS = 300


def scenario_throughput(ctx):
    """Two senders flat out, one per CPU, under one daemon: exported events/s, events lost,
    and the daemon's CPU per event from ready to exit (the drain after SIGTERM included):
    <= 300 ns. PAIRS runs."""
    ctx.need_daemon()
    cpus = sorted(os.sched_getaffinity(0))[:2]
    if len(cpus) < 2:
        raise Skip("needs two CPUs")
    n = ctx.args.iterations
    log(f"\n== throughput: 2 senders (CPUs {cpus}) x {n} sends under one daemon, "
        f"{ctx.args.pairs} runs")
    log(f"{'run':>4} {'wall s':>7} {'offered/s':>10} {'exported/s':>10} {'events':>9} "
        f"{'lost':>7} {'dCPU ms':>8} {'ns/event':>8}")
    rows = []
    for i in range(ctx.args.pairs):
        ctx.check_quiet()
        d = Daemon(ctx)
        fd, out = tempfile.mkstemp(prefix="sendguard-bench-", suffix=".jsonl", dir="/tmp")
        os.close(fd)
        proc = None
        try:
            proc, reader, tail = d.start(out)
            ctx.our_pids.add(proc.pid)
            cpu_ready = proc_cpu_s(proc.pid)
            t0 = time.monotonic()
            loops = [subprocess.Popen([ctx.sendloop, "--warmup", str(ctx.args.warmup), "--cpu",
                                       str(c), str(n)], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True) for c in cpus]
            res = []
            for lp in loops:
                o, e = lp.communicate(timeout=600)
                if lp.returncode != 0:
                    raise BenchError(f"sendloop exited {lp.returncode}: {e.strip()}")
                res.append(json.loads(o.strip().splitlines()[-1]))
            wall = time.monotonic() - t0
            if proc.poll() is not None:
                raise BenchError(f"sendguardd died during the run (exit {proc.returncode}): "
                                 + " | ".join(tail[-8:]))
            proc.send_signal(signal.SIGTERM)
            _, status, ru = os.wait4(proc.pid, 0)  # its CPU to the end, the drain included
            proc.returncode = os.waitstatus_to_exitcode(status)
            reader.join(5)
            if proc.returncode != 0:
                raise BenchError(f"sendguardd exited {proc.returncode} on SIGTERM: "
                                 + " | ".join(tail[-8:]))
            checks = [check_output(out, r["pid"], r["iterations"] + r["warmup"]) for r in res]
            events = sum(c["sends"] for c in checks)
            offered = sum(c["expected"] for c in checks)
            lost = checks[0]["lost"]
            cpu = ru.ru_utime + ru.ru_stime - (cpu_ready or 0)
            row = {"wall": wall, "events": events, "offered": offered, "lost": lost,
                   "cpu": cpu, "ns": cpu / events * 1e9 if events else float("nan"),
                   "missing": offered - events - lost}
            rows.append(row)
            log(f"{i + 1:>4} {wall:7.2f} {offered / wall:10.0f} {events / wall:10.0f} "
                f"{events:>9} {lost:>7} {cpu * 1000:8.0f} {row['ns']:8.0f}")
        finally:
            if proc is not None:
                Daemon._kill(proc)
                ctx.our_pids.discard(proc.pid)
            for path in output_files(out):
                os.unlink(path)
    ns = statistics.median(r["ns"] for r in rows)
    unaccounted = sum(r["missing"] for r in rows)
    if unaccounted:
        warn(f"{unaccounted} sends were neither an event nor counted lost")
    log(f"   median: {statistics.median(r['events'] / r['wall'] for r in rows):.0f} events/s "
        f"exported, {sum(r['lost'] for r in rows)} lost in {len(rows)} runs, "
        f"{ns:.0f} ns of daemon CPU per event")
    ctx.target(f"throughput: daemon CPU <= {THROUGHPUT_CPU_TARGET_NS} ns per event",
               ns <= THROUGHPUT_CPU_TARGET_NS,
               f"median {ns:.0f} ns; lost {sum(r['lost'] for r in rows)} of "
               f"{sum(r['offered'] for r in rows)} sends in {len(rows)} runs")


def scenario_syscalls(ctx):
    """What tracing the send system calls costs a system call that is not a send (a getppid
    loop), and the generic raw_syscalls:sys_exit tracepoint with an early system-call-number
    filter against the per-syscall tracepoint sendguard attaches to, each as an empty
    program (their floors) on both loops. Reported, no target."""
    ctx.need_daemon()
    need_floor(ctx)
    fig = {}
    for prog, args, what in (("tracepoint", ["tracepoint"], "syscalls:sys_exit_sendto"),
                             ("sys_exit", ["sys_exit"],
                              "raw_syscalls:sys_exit, sendto filtered first")):
        for loop in ("sendto", "getppid"):
            if prog == "tracepoint" and loop == "sendto" and ctx.floor is not None:
                fig[prog, loop] = ctx.floor  # scenario floor measured it in this run
                continue
            fig[prog, loop], _ = run_pairs(
                ctx, f"floor: empty program on {what} ({loop} loop)", Untraced(ctx),
                Floor(ctx, args, f"empty {prog}"),
                connected="getppid" if loop == "getppid" else False)
    med, pairs = run_pairs(ctx, "tracing overhead on a system call that is not a send (getppid)",
                           Untraced(ctx), Daemon(ctx), connected="getppid")
    stray = sum(p["cand"]["check"]["sends"] for p in pairs)
    if stray:
        warn(f"{stray} send events carried the getppid loop's pid")
    ns = statistics.median(p["base"]["loop"]["ns_per_op"] for p in pairs)
    log(f"\nsyscalls: cost per system call (medians; getppid untraced {ns:.0f} ns):")
    log(f"   {'attach point':<52} {'sendto':>9} {'getppid':>9}")
    log(f"   {'empty program, syscalls:sys_exit_sendto':<52} "
        f"{pct(fig['tracepoint', 'sendto']):>9} {pct(fig['tracepoint', 'getppid']):>9}")
    log(f"   {'empty program, raw_syscalls:sys_exit + nr filter':<52} "
        f"{pct(fig['sys_exit', 'sendto']):>9} {pct(fig['sys_exit', 'getppid']):>9}")
    log(f"   {'sendguard tracing (its per-syscall tracepoints)':<52} "
        f"{'(tracing)':>9} {pct(med):>9}")


def scenario_peers(ctx):
    """The tools a user would pick instead, on the same loop in the same run: bpftrace
    printing 5 fields per sendto, auditd with a send rule (installed by make bench-deps;
    each one missing is reported, not measured). Reported beside the floor and sendguard's
    tracing figure when those scenarios ran; no target."""
    if os.geteuid() != 0:
        raise BenchError("the peers need root (sudo make bench)")
    rows = []
    bt = shutil.which("bpftrace")
    if bt:
        med, pairs = run_pairs(ctx, "peer: bpftrace, 5 fields per sendto to a file",
                               Untraced(ctx), Bpftrace(ctx, bt))
        lines = statistics.median(p["cand"]["lines"] for p in pairs)
        rows.append(("bpftrace, 5 fields per sendto to a file", med,
                     f"{lines:.0f} lines per run"))
    else:
        rows.append(("bpftrace", None, "not installed (make bench-deps)"))
    ad, ac = shutil.which("auditd"), shutil.which("auditctl")
    if ad and ac:
        try:
            med, pairs = run_pairs(ctx, "peer: auditd, one rule on sendto/sendmsg/sendmmsg",
                                   Untraced(ctx), Auditd(ctx, ad, ac))
            recs = statistics.median(p["cand"]["records"] for p in pairs)
            rows.append(("auditd, a rule on sendto/sendmsg/sendmmsg", med,
                         f"{recs:.0f} SYSCALL records per run"))
        except Skip as e:
            rows.append(("auditd", None, str(e)))
    else:
        rows.append(("auditd", None, "not installed (make bench-deps)"))
    log("\npeers: cost per send against untraced (medians, this run):")
    if ctx.floor is not None:
        log(f"   {'empty program on syscalls:sys_exit_sendto (floor)':<48} {1 + ctx.floor:6.2f}x")
    if ctx.tracing is not None:
        log(f"   {'sendguard, every send as a JSON event to a file':<48} "
            f"{1 + ctx.tracing:6.2f}x")
    for name, med, note in rows:
        log(f"   {name:<48} " + (f"{1 + med:6.2f}x  ({note})" if med is not None
                                  else f"{'-':>6}   ({note})"))


RUN_KERNEL_TARGET = 0.05
RUN_FLOOR_TARGET = 1.5


def scenario_run(ctx):
    """sendguard run: a send the kernel allows <= 5% over no sandbox; a notified send
    within 1.5x of a supervisor that answers CONTINUE at once (the floor)."""
    sg = os.path.join(ctx.build, "sendguard")
    floor = os.path.join(ctx.build, "bench", "notify_floor")
    for path in (sg, floor):
        if not os.access(path, os.X_OK):
            raise BenchError(f"{path} not built (run make)")
    # A deny rule on a destination the workload never uses: every unconnected sendto
    # names a destination, so it goes to the supervisor, which judges and performs it; a
    # connected send() has none, and its peer passed connect(): the kernel allows it.
    pol = os.path.join(ctx.tmpdir, "policy-run.json")
    with open(pol, "w") as f:
        json.dump({"name": "bench-run", "default": "allow", "rules": [
            {"name": "bench-deny", "action": "deny", "match": {"dst": ["192.0.2.1/32"]}}]}, f)
    events = os.path.join(ctx.tmpdir, "run-events.jsonl")
    run_arm = [sg, "run", "-p", pol, "-o", f"file:{events}", "--"]
    n_notified = max(5000, ctx.args.iterations // 4)
    log(f"\nsendguard run: policy {pol} (one deny rule the workload never meets); notified "
        f"runs use {n_notified} sends")

    med_k, _ = run_pairs(ctx, "run: connected send() allowed in the kernel",
                         Untraced(ctx), Wrapped(ctx, "sendguard run", run_arm, events=events),
                         connected=True)
    ctx.target("run: send allowed in the kernel <= 5% over no sandbox",
               med_k <= RUN_KERNEL_TARGET, f"median {pct(med_k)}")

    med_f, pf = run_pairs(ctx, "run floor: sendto() notified, answered CONTINUE at once",
                          Untraced(ctx, n_notified),
                          Wrapped(ctx, "notify_floor", [floor, "--"], n_notified))
    med_n, pn = run_pairs(ctx, "run: sendto() notified, judged and performed by the supervisor",
                          Wrapped(ctx, "notify_floor", [floor, "--"], n_notified),
                          Wrapped(ctx, "sendguard run", run_arm, n_notified, events=events))
    # What the race-free design itself costs on this machine: the same floor, but each send
    # performed the way run must (pidfd_getfd, process_vm_readv, NOTIF_ID_VALID, the send
    # on the copy, NOTIF_SEND), with no policy and no event. Reported, not a target.
    med_r, pr = run_pairs(ctx, "run floor: sendto() notified, performed race-free and nothing more",
                          Wrapped(ctx, "notify_floor", [floor, "--"], n_notified),
                          Wrapped(ctx, "notify_floor --perform", [floor, "--perform", "--"],
                                  n_notified))
    ev = [p["cand"].get("events") for p in pn]
    want = n_notified + ctx.args.warmup
    if any(e != want for e in ev):
        warn(f"sendguard run wrote {ev} events, expected {want} per run (one per send)")
    base_ns = statistics.median(p["base"]["loop"]["ns_per_op"] for p in pf)
    floor_ns = statistics.median(p["base"]["loop"]["ns_per_op"] for p in pn)
    run_ns = statistics.median(p["cand"]["loop"]["ns_per_op"] for p in pn)
    rf_ns = statistics.median(p["cand"]["loop"]["ns_per_op"] for p in pr)
    log(f"   per send (medians): no sandbox {base_ns:.0f} ns, floor {floor_ns:.0f} ns "
        f"({1 + med_f:.2f}x no sandbox), race-free floor {rf_ns:.0f} ns ({1 + med_r:.2f}x the "
        f"floor), sendguard run {run_ns:.0f} ns ({run_ns / base_ns:.2f}x no sandbox, "
        f"{1 + med_n:.2f}x the floor, {run_ns / rf_ns:.2f}x the race-free floor)")
    ctx.target("run: notified send within 1.5x of the CONTINUE floor",
               1 + med_n <= RUN_FLOOR_TARGET, f"median {1 + med_n:.2f}x the floor "
               f"(floor {1 + med_f:.2f}x no sandbox)")


def write_policy(path, name, n_rules, n_cidrs):
    """n_rules audit rules that do not match the workload, then one audit rule that does:
    every send walks past all the others before its rule decides (worst case for an
    evaluator that scans; the same verdict and event size in both policies)."""
    rules = []
    k = 0
    others = n_rules - 1
    for r in range(others):
        dst = []
        # n_cidrs - 1 spread over the other rules; the last rule has the 1 left.
        for _ in range((n_cidrs - 1) * (r + 1) // others - (n_cidrs - 1) * r // others):
            # Distinct prefixes in 10/8, 172.16/12 and fc00::/7 with mixed lengths and ports,
            # none covering 127.0.0.1.
            if k % 5 == 4:
                dst.append(f"[fd{k % 256:02x}:{k // 256:x}::/48]:{1024 + k % 50000}")
            elif k % 3 == 0:
                dst.append(f"10.{(k >> 8) & 255}.{k & 255}.0/24")
            elif k % 3 == 1:
                dst.append(f"172.{16 + (k >> 16) % 16}.{(k >> 8) & 255}.{k & 255}:53")
            else:
                dst.append(f"10.{(k >> 8) & 255}.{k & 255}.128/25:1000-2000")
            k += 1
        rules.append({"name": f"r{r:04d}", "action": "audit",
                      "match": {"protocol": ["udp"], "dst": dst}})
    rules.append({"name": "bench-hit", "action": "audit",
                  "match": {"protocol": ["udp"], "dst": ["127.0.0.0/8"]}})
    with open(path, "w") as f:
        json.dump({"name": name, "default": "allow", "rules": rules}, f)
    return k + 1


def scenario_policy(ctx):
    """1,000 rules and 10,000 CIDRs vs 1 rule: within 2%."""
    ctx.need_daemon()
    small = os.path.join(ctx.tmpdir, "policy-1-rule.json")
    big = os.path.join(ctx.tmpdir, "policy-1000-rules.json")
    if not ctx.daemon_has("-p,") and not ctx.daemon_has("--policy"):
        raise Skip("sendguardd has no -p/--policy option yet")
    write_policy(small, "bench-small", 1, 1)
    n = write_policy(big, "bench-big", 1000, 10_000)
    log(f"\npolicies: {small} (1 rule), {big} (1000 rules, {n} CIDRs)")
    a = Daemon(ctx, "1 rule", policy=small, expect_rule="bench-hit")
    b = Daemon(ctx, "1000 rules", policy=big, expect_rule="bench-hit")
    med, pairs = run_pairs(ctx, "policy size", a, b)
    summarize_events(ctx, "policy", [p["base"] for p in pairs] + [p["cand"] for p in pairs])
    mism = sum(p[k]["check"]["rule_mismatch"] for p in pairs for k in ("base", "cand"))
    if mism:
        warn(f"{mism} events did not name rule bench-hit: the policies may not be applied")
    ctx.target("1000-rule policy within 2% of 1-rule", med <= POLICY_DELTA_TARGET,
               f"median {pct(med)}")


def probe_denied_send(ctx):
    """One send that the enforcing policy denies: which mechanism enforced it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.sendto(b"x", ("192.0.2.1", 9))
        return {"probe_errno": 0}
    except OSError as e:
        return {"probe_errno": e.errno}
    finally:
        s.close()


def scenario_enforce(ctx):
    """Enforcement hooks on allowed sends: <= 3% over tracing alone.

    Both arms trace. The candidate's policy adds a deny rule on a destination the workload
    never uses (192.0.2.1/32, cgroup-enforceable keys only), so the daemon attaches its
    enforcement hooks while every benchmark send is still allowed. A probe send to
    192.0.2.1 after the loop shows whether enforcement was really active (EPERM)."""
    ctx.need_daemon()
    if not ctx.daemon_has("-p,") and not ctx.daemon_has("--policy"):
        raise Skip("sendguardd has no -p/--policy option yet")
    obs = os.path.join(ctx.tmpdir, "policy-observe.json")
    enf = os.path.join(ctx.tmpdir, "policy-enforce.json")
    hit = {"name": "bench-hit", "action": "allow",
           "match": {"protocol": ["udp"], "dst": ["127.0.0.0/8"]}}
    with open(obs, "w") as f:
        json.dump({"name": "bench-observe", "default": "allow", "rules": [hit]}, f)
    with open(enf, "w") as f:
        json.dump({"name": "bench-enforce", "default": "allow", "rules": [
            {"name": "bench-deny", "action": "deny",
             "match": {"protocol": ["udp"], "dst": ["192.0.2.1/32"]}}, hit]}, f)
    a = Daemon(ctx, "trace only", policy=obs, expect_rule="bench-hit")
    b = Daemon(ctx, "enforcing", policy=enf, expect_rule="bench-hit",
               after_loop=probe_denied_send)
    med, pairs = run_pairs(ctx, "enforcement hooks", a, b)
    summarize_events(ctx, "enforce", [p["base"] for p in pairs] + [p["cand"] for p in pairs])
    errs = {p["cand"]["check"].get("probe_errno") for p in pairs}
    active = errs == {1}
    if not active:
        warn(f"probe send to 192.0.2.1 returned errno {sorted(errs)}, not EPERM: "
             "enforcement was not active, the figure measures nothing")
    ctx.target("enforcement hooks <= 3% over tracing", active and med <= ENFORCE_TARGET,
               f"median {pct(med)}" + ("" if active else " (enforcement not active)"))
    if ctx.floor_hook is not None:
        log(f"   of which the floor (empty sendmsg4 program, scenario floor-hook): "
            f"{pct(ctx.floor_hook)}; sendguard's own work: {pct(med - ctx.floor_hook)}")


def scenario_encoder(ctx):
    """JSON encoder micro-benchmark: >= 1,000,000 events/s on one core."""
    path = os.path.join(ctx.build, "bench", "json_bench")
    log("\n== JSON encoder (build/bench/json_bench)")
    if not os.access(path, os.X_OK):
        ctx.target("JSON encoder >= 1,000,000 events/s", False, f"{path} not built")
        return
    cmd = [path]
    if ctx.loop_cpu is not None:
        cmd = ["taskset", "-c", str(ctx.loop_cpu)] + cmd if shutil.which("taskset") else cmd
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    for line in (p.stdout + p.stderr).strip().splitlines():
        log(f"   {line}")
    if p.returncode != 0:
        raise BenchError(f"json_bench exited {p.returncode}")
    rate = parse_rate(p.stdout)
    if rate is None:
        ctx.target("JSON encoder >= 1,000,000 events/s", False,
                   "could not find an events/s figure in json_bench's output")
    else:
        ctx.target("JSON encoder >= 1,000,000 events/s", rate >= ENCODER_TARGET,
                   f"{rate:,.0f} events/s")


RATE_KEY = re.compile(r"(events?_?per_?s(ec(ond)?)?|events_s|eps|rate)$", re.I)
RATE_TEXT = re.compile(r"([0-9][0-9,_.]*(?:[eE][+-]?\d+)?)\s*(?:events?|ev)\s*/\s*s")


def parse_rate(out):
    """The encoder rate from json_bench's output: a JSON key like events_per_s, else the
    'N events/s' of the line naming sendguard's encoder, else the first such figure (later
    lines may be comparisons with other encoders)."""
    found = []
    for line in out.splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            for k, v in obj.items():
                if RATE_KEY.search(k) and isinstance(v, (int, float)):
                    return float(v)
            continue
        m = RATE_TEXT.search(line)
        if m:
            v = float(m.group(1).replace(",", "").replace("_", ""))
            found.append((line.lower(), v))
    for text, v in found:
        if "sendguard" in text or ("encoder" in text and "json-c" not in text):
            return v
    return found[0][1] if found else None


# Order matters for the default run: tracing first (the headline figure).
SCENARIOS = {
    "floor": scenario_floor,
    "floor-hook": scenario_floor_hook,
    "tracing": scenario_tracing,
    "tracing-core": scenario_tracing_core,
    "tracing-compat": scenario_tracing_compat,
    "flows": scenario_flows,
    "encoder": scenario_encoder,
    "policy": scenario_policy,
    "enforce": scenario_enforce,
    "connected": scenario_connected,
    "paths": scenario_paths,
    "syscalls": scenario_syscalls,
    "throughput": scenario_throughput,
    "peers": scenario_peers,
    "noise": scenario_noise,
    "run": scenario_run,
}
DEFAULT = ["floor", "tracing", "tracing-core", "tracing-compat", "flows", "encoder", "policy",
           "floor-hook", "enforce", "paths", "syscalls", "throughput", "peers", "run"]


# --- driver --------------------------------------------------------------------------------


class Ctx:
    def __init__(self, args):
        self.args = args
        self.build = args.build
        self.sendloop = os.path.join(args.build, "bench", "sendloop")
        self.daemon = os.path.join(args.build, "sendguardd")
        self.targets = []
        self.our_pids = set()
        self.floor = None  # scenario floor's median, when it ran
        self.floor_hook = None  # scenario floor-hook's
        self.variants = {}  # tracing-core/-compat medians
        self.tracing = None  # scenario tracing's median
        self._daemon_help = None
        self.tmpdir = tempfile.mkdtemp(prefix="sendguard-bench-")
        self.baseline_progs = bpf_prog_ids()
        self.loop_cpu, self.daemon_cpus = self._cpus()

    def _cpus(self):
        a = self.args
        avail = sorted(os.sched_getaffinity(0))
        if a.no_pin or len(avail) < 2:
            return None, None
        loop = a.loop_cpu if a.loop_cpu is not None else avail[-1]
        rest = {c for c in avail if c != loop}
        return loop, rest

    def daemon_has(self, option):
        """Whether sendguardd --help mentions OPTION."""
        if self._daemon_help is None:
            try:
                p = subprocess.run([self.daemon, "--help"], capture_output=True, text=True,
                                   timeout=10)
                self._daemon_help = p.stdout + p.stderr
            except (OSError, subprocess.SubprocessError):
                self._daemon_help = ""
        return option in self._daemon_help

    def need_daemon(self):
        if not os.access(self.daemon, os.X_OK):
            raise BenchError(f"{self.daemon} not built")
        if os.geteuid() != 0:
            raise BenchError("the daemon benchmarks need root (sudo make bench)")

    def check_quiet(self):
        """Before an untraced run: nothing of ours (or anyone's sendguardd) is attached."""
        others = other_daemons(self.our_pids)
        if others:
            warn(f"other sendguardd processes {others} are running: they trace the "
                 "untraced runs too")
        if self.baseline_progs is not None:
            now = bpf_prog_ids()
            if now is not None and now - self.baseline_progs:
                warn(f"BPF programs {sorted(now - self.baseline_progs)} appeared since the "
                     "benchmark started and are still loaded during an untraced run")
                self.baseline_progs = now  # warn once per set
        if os.path.exists("/sys/fs/bpf/sendguard"):
            warn("/sys/fs/bpf/sendguard exists: pinned sendguard programs may be attached")

    def target(self, name, ok, detail):
        self.targets.append((name, ok, detail))
        log(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build", help="build directory (default: build)")
    ap.add_argument("--only", help="comma-separated scenarios: " + ", ".join(SCENARIOS)
                    + f" (default: {', '.join(DEFAULT)})")
    ap.add_argument("--pairs", type=int, default=7, help="pairs per scenario (default 7)")
    ap.add_argument("--iterations", type=int, default=200_000,
                    help="timed sends per sendloop run (default 200000)")
    ap.add_argument("--warmup", type=int, default=1000, help="untimed sends before each run")
    ap.add_argument("--stat", choices=("total", "chunk"), default="total",
                    help="per-run figure the targets are judged by (default: total)")
    ap.add_argument("--ringbuf-size", type=int, help="passed to sendguardd")
    ap.add_argument("--daemon-arg", action="append", default=[],
                    help="extra sendguardd argument (repeatable)")
    ap.add_argument("--loop-cpu", type=int, help="CPU for sendloop (default: the last one; "
                    "the daemon gets the others)")
    ap.add_argument("--no-pin", action="store_true", help="pin neither sendloop nor daemon")
    ap.add_argument("--ready-timeout", type=float, default=60)
    ap.add_argument("--stop-timeout", type=float, default=120)
    ap.add_argument("--keep", action="store_true", help="keep the daemon output files")
    ap.add_argument("--bpf-stats", action="store_true",
                    help="enable kernel.bpf_stats_enabled and report the time spent in the "
                    "daemon's BPF programs (adds its own overhead: diagnosis only)")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    args = ap.parse_args()

    if args.list:
        for name, fn in SCENARIOS.items():
            log(f"{name:10} {fn.__doc__.splitlines()[0]}")
        return 0
    names = args.only.split(",") if args.only else DEFAULT
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        ap.error(f"unknown scenario {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    if args.pairs < 1 or args.iterations < 1:
        ap.error("--pairs and --iterations must be positive")
    if args.pairs < 5:
        warn(f"--pairs {args.pairs}: the targets are medians of at least 5 pairs")

    ctx = Ctx(args)
    if not os.access(ctx.sendloop, os.X_OK):
        log(f"error: {ctx.sendloop} not built (run make)")
        return 1
    log(f"sendguard benchmarks: {os.uname().release}, {len(os.sched_getaffinity(0))} CPUs, "
        f"sendloop on CPU {ctx.loop_cpu}, daemon on CPUs "
        f"{sorted(ctx.daemon_cpus) if ctx.daemon_cpus else 'any'}")
    crashed, skipped = [], []
    stats_sysctl = "/proc/sys/kernel/bpf_stats_enabled"
    stats_prev = None
    if args.bpf_stats:
        with open(stats_sysctl) as f:
            stats_prev = f.read().strip()
        with open(stats_sysctl, "w") as f:
            f.write("1")
        warn("bpf_stats_enabled=1: the overhead figures include its cost")
    try:
        for name in names:
            try:
                SCENARIOS[name](ctx)
            except BenchError as e:
                log(f"CRASH {name}: {e}")
                crashed.append(name)
            except Skip as e:
                log(f"SKIP  {name}: {e}")
                skipped.append((name, str(e)))
    finally:
        shutil.rmtree(ctx.tmpdir, ignore_errors=True)
        shutil.rmtree(f"/sys/fs/bpf/sendguard-bench-{os.getpid()}", ignore_errors=True)
        if stats_prev is not None:
            with open(stats_sysctl, "w") as f:
                f.write(stats_prev)

    passed = sum(1 for t in ctx.targets if t[1])
    failed = len(ctx.targets) - passed + len(crashed)  # a crashed scenario met no target
    log("\nsummary:")
    for name, ok, detail in ctx.targets:
        log(f"  {'PASS' if ok else 'FAIL'}  {name}: {detail}")
    for name in crashed:
        log(f"  CRASH {name}")
    for name, why in skipped:
        log(f"  SKIP  {name}: {why}")
    log(f"{passed} passed, {failed} failed")
    return 1 if crashed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
