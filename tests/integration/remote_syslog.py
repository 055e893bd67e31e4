#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""-o syslog+tcp://HOST:PORT against a real rsyslog (Debian's package), started
here with imtcp on loopback and writing every message to a file:

- every record arrives whole and in order (by seq), byte for byte what the file
  sink got, with an RFC 5424 header (PRI, timestamp, host, app, pid, MSGID =
  record type, [meta sequenceId=seq]); records written before the collector
  was up are delivered once it is;
- rsyslog killed and restarted mid-stream while the queue overflows: records
  received + records reported undeliverable = records written, exactly, and
  the metrics agree;
- a collector that stops reading never stalls the daemon: events still reach
  the file sink within a second, drops are reported, SIGTERM ends it at once;
- bad sink specs are usage errors, a name that does not resolve a start error.

Needs root and rsyslogd (make deps). One line per test, then
`N passed, N failed`; exit 1 on failure.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402  (tests/integration/harness.py)
from control import Daemon, write_policy  # noqa: E402
import private_dirs  # noqa: E402  (tests/integration/private_dirs.py)
from fleet import (EXIT_MAX, LATENCY_MAX, begin, event_latency, finish,  # noqa: E402
                   free_port, metric, parse_metrics, read_records, scrape, wait_for)

RSYSLOGD = "/usr/sbin/rsyslogd"
LAT = 30000 + (os.getpid() * 19) % 20000


class Rsyslog:
    """rsyslogd in the foreground: imtcp on 127.0.0.1:port, every message's MSG
    to out.jsonl and its RFC 5424 header fields to hdr.txt."""

    def __init__(self, work, port):
        self.dir = os.path.join(work, f"rsyslog-{port}")
        os.makedirs(self.dir, exist_ok=True)
        self.port = port
        self.out = os.path.join(self.dir, "out.jsonl")
        self.hdr = os.path.join(self.dir, "hdr.txt")
        self.conf = os.path.join(self.dir, "rsyslog.conf")
        with open(self.conf, "w") as f:
            f.write(f"""global(workDirectory="{self.dir}" maxMessageSize="64k")
main_queue(queue.type="Direct")
module(load="imtcp")
template(name="msg" type="string" string="%msg%\\n")
template(name="hdr" type="string"
         string="%pri%|%protocol-version%|%timereported:::date-rfc3339%|%hostname%|%app-name%|%procid%|%msgid%|%structured-data%\\n")
ruleset(name="in") {{
  action(type="omfile" file="{self.out}" template="msg")
  action(type="omfile" file="{self.hdr}" template="hdr")
}}
input(type="imtcp" port="{port}" address="127.0.0.1" ruleset="in")
""")
        self.proc = None

    def start(self):
        log = open(os.path.join(self.dir, "rsyslogd.log"), "a")
        self.proc = subprocess.Popen([RSYSLOGD, "-n", "-f", self.conf, "-i",
                                      os.path.join(self.dir, "rsyslogd.pid")],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log)

        def listening():
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return self.proc.poll() is not None
        wait_for(listening, 15)
        return None if self.proc.poll() is None else f"rsyslogd exited {self.proc.returncode}"

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            if sig in (signal.SIGKILL, signal.SIGTERM):
                self.proc.wait(15)

    def lines(self):
        try:
            with open(self.out, "rb") as f:
                return f.read().split(b"\n")[:-1]
        except OSError:
            return []


def file_lines(path):
    with open(path, "rb") as f:
        return f.read().split(b"\n")[:-1]


def has_all(rs, path):
    """rsyslog's file holds the file sink's last record (of now)."""
    want = file_lines(path)
    got = rs.lines()
    return bool(want) and bool(got) and want[-1] in got[-50:]


def burst(build, n):
    subprocess.run([os.path.join(build, "tests", "sender"), "burst", str(n)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120, check=True)


def sink_name(port):
    return f"syslog+tcp://127.0.0.1:{port}"


def accounting(events_path, rs, name):
    """(problems, written, received, reported) of the remote sink name."""
    p = []
    recs, probs = read_records(events_path)
    p += probs
    by_seq = {}
    for line in file_lines(events_path):
        by_seq[json.loads(line)["seq"]] = line
    seqs = [r["seq"] for r in recs]
    if seqs != list(range(1, len(seqs) + 1)):
        p.append("the file sink's seq is not 1..N")
    reported = sum(r["count"] for r in recs
                   if r.get("type") == "undeliverable" and r.get("sink") == name)
    got = []
    for i, line in enumerate(rs.lines()):
        try:
            seq = json.loads(line)["seq"]
        except (ValueError, KeyError):
            p.append(f"collector line {i + 1} is not a whole record: {line[:80]!r}")
            continue
        if by_seq.get(seq) != line:
            p.append(f"collector line {i + 1} (seq {seq}) differs from the file sink's")
        got.append(seq)
    if any(b <= a for a, b in zip(got, got[1:])):
        p.append("records at the collector out of order or repeated")
    return p[:10], len(seqs), len(got), reported


def test_in_order(res, build, work, sock, pol):
    name = "remote_syslog_every_record_in_order"
    port = free_port()
    rs = Rsyslog(work, port)
    sub = os.path.join(work, "a")
    os.makedirs(sub, exist_ok=True)
    d = Daemon(os.path.join(build, "sendguardd"), sub, pol, sock,
               ["-o", sink_name(port), "--stats-interval", "1", "--syslog-queue", "64M",
                "--metrics", f"127.0.0.1:{free_port()}"])
    why = d.start()  # no collector yet: records wait in the queue
    if why:
        res.report(name, [why])
        return
    p = []
    try:
        burst(build, 200)
        time.sleep(1.5)
        why = rs.start()
        if why:
            p.append(why)
        burst(build, 3000)
        if not wait_for(lambda: has_all(rs, d.events), 30, 0.2):
            p.append("the collector did not get the file sink's records within 30 s")
        m = parse_metrics(scrape_metrics(d) or "")
        if metric(m, "sendguard_sink_connected", sink=sink_name(port)) != 1:
            p.append("sendguard_sink_connected is not 1 while connected")
    finally:
        d.stop()
        time.sleep(0.5)
        rs.kill(signal.SIGTERM)
    want, got = file_lines(d.events), rs.lines()
    if want != got:
        p.append(f"collector has {len(got)} lines, the file sink {len(want)}; "
                 f"first difference at line "
                 f"{next((i for i, (a, b) in enumerate(zip(want, got)) if a != b), min(len(want), len(got))) + 1}")
    recs, probs = read_records(d.events)
    p += probs
    if any(r.get("type") == "undeliverable" for r in recs):
        p.append("undeliverable records, but nothing should have been lost")
    # The RFC 5424 header of each message.
    host = "".join(c if " " < c <= "~" else "_" for c in socket.gethostname()) or "-"
    with open(rs.hdr) as f:
        hdrs = f.read().splitlines()
    if len(hdrs) != len(recs):
        p.append(f"{len(hdrs)} headers for {len(recs)} records")
    for h, r in zip(hdrs, recs):
        pri, ver, ts, hn, app, pid, msgid, sd = h.split("|")
        want_ts = r["ts"][:26]
        if (pri, ver, hn, app, pid, msgid) != ("30", "1", host, "sendguardd", str(d.proc.pid),
                                               r["type"]) \
                or sd != f'[meta sequenceId="{r["seq"]}"]' or not ts.startswith(want_ts):
            p.append(f"header {h!r} for seq {r['seq']} ({r['type']}, {r['ts']})")
            break
    if len(want) < 3200:
        p.append(f"only {len(want)} records written")
    res.report(name, p)


def scrape_metrics(d):
    i = d.args.index("--metrics") if "--metrics" in d.args else -1
    if i < 0:
        return None
    try:
        return scrape(int(d.args[i + 1].rsplit(":", 1)[1]))[2]
    except OSError:
        return None


def test_restart_gap(res, build, work, sock, pol):
    name = "remote_syslog_restart_gap_accounted"
    port = free_port()
    rs = Rsyslog(work, port)
    mport = free_port()
    sub = os.path.join(work, "b")
    os.makedirs(sub, exist_ok=True)
    d = Daemon(os.path.join(build, "sendguardd"), sub, pol, sock,
               ["-o", sink_name(port), "--syslog-queue", "262144", "--stats-interval", "1",
                "--metrics", f"127.0.0.1:{mport}"])
    p = []
    why = rs.start() or d.start()
    if why:
        res.report(name, [why])
        rs.kill()
        d.stop()
        return
    try:
        burst(build, 300)
        if not wait_for(lambda: has_all(rs, d.events), 20, 0.1):
            p.append("the collector did not catch up before the kill")
        # Kill the collector at a moment when it has everything it acknowledged
        # (what a killed collector acknowledged and then lost, no plain-TCP sender
        # can know): the daemon is stopped meanwhile, then goes on mid-stream.
        d.proc.send_signal(signal.SIGSTOP)
        if not wait_for(lambda: file_lines(d.events)[-1:] == rs.lines()[-1:], 10, 0.05):
            p.append("the collector did not catch up with the stopped daemon")
        rs.kill(signal.SIGKILL)
        d.proc.send_signal(signal.SIGCONT)
        burst(build, 4000)  # far more than a 256 KiB queue holds: drops
        time.sleep(1.0)
        why = rs.start()
        if why:
            p.append("restart: " + why)

        def recovered():
            return any(b'"type":"undeliverable"' in line for line in rs.lines())
        if not wait_for(recovered, 30, 0.2):
            p.append("no undeliverable record reached the restarted collector within 30 s")
        burst(build, 300)
        if not wait_for(lambda: has_all(rs, d.events), 30, 0.2):
            p.append("the restarted collector did not get the last records")
        m = parse_metrics(scrape(mport)[2])
    finally:
        d.stop()
        time.sleep(0.5)
        rs.kill(signal.SIGTERM)
    probs, written, received, reported = accounting(d.events, rs, sink_name(port))
    p += probs
    if received + reported != written:
        p.append(f"received {received} + reported undeliverable {reported} != "
                 f"written {written}")
    if not reported:
        p.append("nothing was reported undeliverable: the queue never overflowed")
    if m:
        dropped = metric(m, "sendguard_sink_dropped_records_total", sink=sink_name(port))
        if dropped is None or dropped > reported or dropped <= 0:
            p.append(f"sendguard_sink_dropped_records_total {dropped}, reported {reported}")
        if (metric(m, "sendguard_sink_connects_total", sink=sink_name(port)) or 0) < 2:
            p.append("sendguard_sink_connects_total < 2 after a reconnect")
        if not metric(m, "sendguard_sink_connection_failures_total", sink=sink_name(port)):
            p.append("no connection failure counted")
    print(f"     written {written}, received {received}, reported undeliverable {reported}")
    res.report(name, p)


def test_stalled_collector(res, build, work, sock, pol):
    name = "remote_syslog_stalled_collector_never_stalls"
    port = free_port()
    rs = Rsyslog(work, port)
    sub = os.path.join(work, "c")
    os.makedirs(sub, exist_ok=True)
    mport = free_port()
    d = Daemon(os.path.join(build, "sendguardd"), sub, pol, sock,
               ["-o", sink_name(port), "--syslog-queue", "65536",
                "--metrics", f"127.0.0.1:{mport}"])
    p = []
    why = rs.start() or d.start()
    if why:
        res.report(name, [why])
        rs.kill()
        d.stop()
        return
    try:
        rs.kill(signal.SIGSTOP)  # accepts, never reads
        for _ in range(4):
            burst(build, 10000)  # ~20 MB of messages: the socket buffers fill, then the queue
        lat = [event_latency(d.events, LAT + i) for i in range(5)]
        if any(x is None or x > LATENCY_MAX for x in lat):
            p.append(f"event latency with a stalled collector: {lat}")
        m = parse_metrics(scrape(mport)[2])
        q = metric(m, "sendguard_sink_queue_bytes", sink=sink_name(port))
        if q is None or q > 65536:
            p.append(f"sendguard_sink_queue_bytes {q}, the limit is 65536")
        if not metric(m, "sendguard_sink_dropped_records_total", sink=sink_name(port)):
            p.append("no records dropped by a collector that does not read")
        t0 = time.monotonic()
        d.proc.send_signal(signal.SIGTERM)
        try:
            rc = d.proc.wait(15)
        except subprocess.TimeoutExpired:
            rc = None
        took = time.monotonic() - t0
        if rc != 0 or took > EXIT_MAX:
            p.append(f"SIGTERM: exit {rc} after {took:.1f} s")
    finally:
        d.stop()
        rs.kill(signal.SIGCONT)
        rs.kill(signal.SIGKILL)
    recs, probs = read_records(d.events)
    p += probs
    if not any(r.get("type") == "undeliverable" and r.get("sink") == sink_name(port)
               for r in recs):
        p.append("no undeliverable record in the file sink")
    if not any("not delivered at exit" in line for line in d.log):
        p.append("exit did not log the records left undelivered")
    res.report(name, p)


def test_usage(res, build):
    p = []
    exe = os.path.join(build, "sendguardd")
    for spec in ("syslog+tcp://", "syslog+tcp://host", "syslog+tcp://host:0",
                 "syslog+tcp://::1:514", "syslog+tcp://host:514x"):
        r = subprocess.run([exe, "-n", "-o", spec], capture_output=True, text=True, timeout=30)
        if r.returncode != 2 or "bad sink" not in r.stderr:
            p.append(f"-o {spec}: exit {r.returncode} {r.stderr.strip()[:100]}")
    r = subprocess.run([exe, "-f", "--control", "none", *private_dirs.ARGS, "-o",
                        "syslog+tcp://no-such-host.invalid:514"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 1 or "cannot resolve" not in r.stderr:
        p.append(f"unresolvable collector: exit {r.returncode} {r.stderr.strip()[:200]}")
    res.report("remote_syslog_usage_errors", p)


suite = harness.Suite(__doc__)


@suite.test("remote_syslog_usage_errors")
def usage(res, ctx):
    test_usage(res, ctx.build)


@suite.test("remote_syslog_every_record_in_order")
def in_order(res, ctx):
    test_in_order(res, ctx.build, ctx.work, ctx.sock, ctx.pol)


@suite.test("remote_syslog_restart_gap_accounted")
def restart_gap(res, ctx):
    test_restart_gap(res, ctx.build, ctx.work, ctx.sock, ctx.pol)


@suite.test("remote_syslog_stalled_collector_never_stalls")
def stalled_collector(res, ctx):
    test_stalled_collector(res, ctx.build, ctx.work, ctx.sock, ctx.pol)


def main():
    build, res, work = begin(suite, "remote_syslog", [RSYSLOGD])
    if not work:
        return finish(res)
    ctx = suite
    ctx.work = work
    ctx.sock = os.path.join(work, "control.sock")
    ctx.pol = os.path.join(work, "policy.json")
    write_policy(ctx.pol, {"name": "remote-syslog-test", "default": "allow", "rules": []})
    suite.run(ctx)
    return finish(res, work)


if __name__ == "__main__":
    sys.exit(main())
