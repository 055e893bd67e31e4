#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""sendguardd --metrics: the exposition passes `promtool check metrics`, a real
Prometheus server (started here, on loopback) scrapes it and its query API
returns the counts of known sends (rule hits, cgroup denials, events by
syscall); bad requests get 4xx replies; scrapers that connect and say nothing,
send a byte at a time, never read, or send oversized heads do not stall the
pipeline (events still reach the file sink within a second), are closed at the
connection limit or timeout, and do not keep SIGTERM from ending the daemon.

Needs root, promtool and prometheus (Debian's prometheus package; make deps).
One line per test, then `N passed, N failed`; exit 1 on failure.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402  (tests/integration/harness.py)
from control import Daemon, write_policy  # noqa: E402
from fleet import (EXIT_MAX, LATENCY_MAX, begin, event_latency, finish,  # noqa: E402
                   free_port, metric, parse_metrics, read_records, scrape, udp_send,
                   wait_for)

BASE = 30000 + (os.getpid() * 17) % 20000  # UDP destinations private to this run
PROBE, DENIED, LAT = BASE, BASE + 1, BASE + 2
N_PROBE, N_DENIED = 37, 11


def raw_request(port, data, timeout=5.0):
    """Sends data, returns everything the server answers until it closes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    out = b""
    while True:
        try:
            d = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not d:
            break
        out += d
    s.close()
    return out


def captured(d, port, sent):
    """(events of this process's sends to port in the file sink, problems). Fewer
    than sent only when the stream reports lost events (the host is tracing
    other processes' floods too): the counters must then match the stream."""
    recs, probs = read_records(d.events)
    n = sum(1 for r in recs if r.get("type") == "send" and r["proc"]["pid"] == os.getpid()
            and (r.get("dst") or {}).get("port") == port)
    lost = sum(r["count"] for r in recs if r.get("type") == "lost")
    if n != sent and not (n < sent and lost):
        probs.append(f"{n} events of {sent} sends to port {port} in the stream "
                     f"({lost} lost)")
    return n, probs


def test_exposition(res, d, mport, work):
    p = []
    udp_send(PROBE, N_PROBE)
    if udp_send(DENIED, N_DENIED) != N_DENIED:
        p.append("sends to the denied port were not refused (cgroup hooks not enforcing?)")
    time.sleep(0.6)
    n_probe, probs = captured(d, PROBE, N_PROBE)
    p += probs
    n_denied, probs = captured(d, DENIED, N_DENIED)
    p += probs
    status, ctype, text = scrape(mport)
    if status != 200 or not ctype.startswith("text/plain; version=0.0.4"):
        p.append(f"GET /metrics: {status} {ctype}")
    path = os.path.join(work, "metrics.txt")
    with open(path, "w") as f:
        f.write(text)
    chk = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                         capture_output=True, timeout=60)
    if chk.returncode != 0 or chk.stdout.strip() or chk.stderr.strip():
        p.append(f"promtool check metrics: rc {chk.returncode}: "
                 f"{(chk.stdout + chk.stderr).strip()[:600]}")
    m = parse_metrics(text)
    want = {
        ("sendguard_rule_hits_total", (("rule", "probe"),)): n_probe,
        ("sendguard_rule_hits_total", (("rule", "no-port"),)): n_denied,
        ("sendguard_policy_version", ()): 1,
        ("sendguard_policy_rules", ()): 2,
        ("sendguard_policy_loads_total", (("result", "loaded"),)): 1,
        ("sendguard_policy_loads_total", (("result", "refused"),)): 0,
        ("sendguard_hook_attached", (("hook", "sendmsg4"),)): 1,
        ("sendguard_build_info", (("version", "0.1.0"),)): 1,
    }
    for (name, labels), v in want.items():
        got = metric(m, name, **dict(labels))
        if got != v:
            p.append(f"{name}{dict(labels)} = {got}, want {v}")
    if (metric(m, "sendguard_denials_total", mechanism="cgroup") or 0) < n_denied:
        p.append(f"denials by cgroup {metric(m, 'sendguard_denials_total', mechanism='cgroup')}"
                 f" < {n_denied}")
    if (metric(m, "sendguard_events_total", syscall="sendto") or 0) < n_probe:
        p.append("sendguard_events_total{syscall=sendto} below the sends made")
    rss = metric(m, "process_resident_memory_bytes") or 0
    if not 1 << 20 < rss < 1 << 30:
        p.append(f"process_resident_memory_bytes {rss}")
    if metric(m, "process_cpu_seconds_total") is None:
        p.append("no process_cpu_seconds_total")
    if metric(m, "sendguard_ringbuf_size_bytes") != 8 << 20:
        p.append(f"sendguard_ringbuf_size_bytes {metric(m, 'sendguard_ringbuf_size_bytes')}")
    res.report("metrics_exposition_promtool", p)
    return n_probe, n_denied


def start_prometheus(work, mport):
    pport = free_port()
    cfg = os.path.join(work, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: sendguard\n    static_configs:\n"
                f"      - targets: ['127.0.0.1:{mport}']\n")
    log = open(os.path.join(work, "prometheus.log"), "w")
    proc = subprocess.Popen(["prometheus", f"--config.file={cfg}",
                             f"--storage.tsdb.path={os.path.join(work, 'tsdb')}",
                             f"--web.listen-address=127.0.0.1:{pport}"],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    return proc, pport


def query(pport, q):
    url = f"http://127.0.0.1:{pport}/api/v1/query?" + urllib.parse.urlencode({"query": q})
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            body = json.load(r)
    except OSError:
        return None
    if body.get("status") != "success" or not body["data"]["result"]:
        return None
    return float(body["data"]["result"][0]["value"][1])


def test_prometheus(res, d, mport, work, n_probe, n_denied):
    p = []
    proc, pport = start_prometheus(work, mport)
    try:
        checks = [
            ('up{job="sendguard"}', 1),
            ('sendguard_rule_hits_total{rule="probe"}', n_probe),
            ('sendguard_rule_hits_total{rule="no-port"}', n_denied),
            ('sendguard_policy_version', 1),
            ('sendguard_build_info{version="0.1.0"}', 1),
        ]
        for q, want in checks:
            got = wait_for(lambda: query(pport, q) == want and want, 60, 0.5)
            if not got:
                p.append(f"query {q}: {query(pport, q)}, want {want}")
                if proc.poll() is not None:
                    p.append(f"prometheus exited {proc.returncode}")
                    break
        # More sends: the next scrapes see them.
        udp_send(PROBE, 5)
        time.sleep(0.6)
        n_more, probs = captured(d, PROBE, N_PROBE + 5)
        p += probs
        q = 'sendguard_rule_hits_total{rule="probe"}'
        if not wait_for(lambda: query(pport, q) == n_more, 30, 0.5):
            p.append(f"after 5 more sends {q} = {query(pport, q)}, want {n_more}")
        q = 'sendguard_denials_total{mechanism="cgroup"} >= %d' % n_denied
        if query(pport, q) is None:
            p.append(f"query {q}: no result")
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if p:
        with open(os.path.join(work, "prometheus.log")) as f:
            p.append("prometheus log tail: " + " | ".join(f.read().splitlines()[-5:]))
    res.report("metrics_prometheus_scrapes_and_queries", p)


def test_bad_requests(res, mport):
    p = []
    cases = [
        (b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n", b"HTTP/1.1 404 "),
        (b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", b"HTTP/1.1 405 "),
        (b"garbage\r\n\r\n", b"HTTP/1.1 400 "),
        (b"GET /metrics HTTP/1.1\r\n" + b"X-Long: " + b"a" * 20000 + b"\r\n\r\n",
         b"HTTP/1.1 431 "),
        (b"HEAD /metrics HTTP/1.0\r\n\r\n", b"HTTP/1.1 200 "),
        (b"GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", b"HTTP/1.1 200 "),
    ]
    for req, want in cases:
        try:
            got = raw_request(mport, req)
        except OSError as e:
            got = repr(e).encode()
        if not got.startswith(want):
            p.append(f"{req[:40]!r}: {got[:60]!r}, want {want!r}")
        elif req.startswith(b"HEAD") and b"\r\n\r\n" in got and got.split(b"\r\n\r\n", 1)[1]:
            p.append("HEAD reply has a body")
    res.report("metrics_bad_requests", p)


def test_abusive_scrapers(res, d, mport):
    """Idle, byte-at-a-time, never-reading and oversized scrapers at once."""
    p = []
    conns = []
    for _ in range(40):  # more than the limit: say nothing at all
        s = socket.create_connection(("127.0.0.1", mport), timeout=5)
        conns.append(s)
    slow = socket.create_connection(("127.0.0.1", mport), timeout=5)
    slow.sendall(b"GET /met")  # and never the rest
    deaf = []
    for _ in range(4):  # ask and never read
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        s.connect(("127.0.0.1", mport))
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        deaf.append(s)
    flood = socket.create_connection(("127.0.0.1", mport), timeout=5)
    try:
        flood.sendall(b"GET /metrics HTTP/1.1\r\n" + b"X: " + b"y" * 200000)
    except OSError:
        pass  # the server answered 431 and stopped reading: fine
    # The pipeline keeps delivering: events reach the file sink within a second.
    lat = [event_latency(d.events, LAT + 1000 + i) for i in range(5)]
    if any(x is None or x > LATENCY_MAX for x in lat):
        p.append(f"event latency with abusive scrapers connected: {lat}")
    # A well-behaved scrape still gets an answer (an unfinished request makes room).
    t0 = time.monotonic()
    try:
        status, _, text = scrape(mport, timeout=5)
        if status != 200 or "sendguard_build_info" not in text:
            p.append(f"scrape during the abuse: {status}")
    except OSError as e:
        p.append(f"scrape during the abuse failed: {e}")
    if time.monotonic() - t0 > LATENCY_MAX:
        p.append(f"scrape during the abuse took {time.monotonic() - t0:.1f} s")
    # After the connection timeout (10 s) every one of them is closed by the daemon.
    time.sleep(11)
    open_left = 0
    for s in conns + deaf + [slow]:
        s.setblocking(False)
        try:
            while True:
                d_ = s.recv(65536)
                if not d_:
                    break
        except BlockingIOError:
            open_left += 1
        except OSError:
            pass
    if open_left:
        p.append(f"{open_left} abusive connections still open after the 10 s timeout")
    _, _, text = scrape(mport)
    m = parse_metrics(text)
    for reason in ("displaced", "timeout"):
        if not metric(m, "sendguard_metrics_connections_closed_total", reason=reason):
            p.append(f"no connection closed by reason {reason}")
    for s in conns + deaf + [slow, flood]:
        s.close()
    res.report("metrics_abusive_scrapers_do_not_stall", p)


def test_sigterm_with_scrapers(res, build, work, sock, pol):
    p = []
    mport = free_port()
    d = Daemon(os.path.join(build, "sendguardd"), work, pol, sock,
               ["--metrics", f"127.0.0.1:{mport}"])
    why = d.start()
    if why:
        res.report("metrics_sigterm_with_open_scrapers", [why])
        return
    conns = [socket.create_connection(("127.0.0.1", mport), timeout=5) for _ in range(20)]
    t0 = time.monotonic()
    d.proc.send_signal(signal.SIGTERM)
    try:
        rc = d.proc.wait(10)
    except subprocess.TimeoutExpired:
        rc = None
    took = time.monotonic() - t0
    d.stop()
    for s in conns:
        s.close()
    if rc != 0 or took > EXIT_MAX:
        p.append(f"exit {rc} after {took:.1f} s with 20 scrapers connected")
    res.report("metrics_sigterm_with_open_scrapers", p)


def test_usage(res, build):
    p = []
    exe = os.path.join(build, "sendguardd")
    for arg in ("127.0.0.1", "127.0.0.1:0", "127.0.0.1:99999", "::1:9477", "[::1]"):
        r = subprocess.run([exe, "-n", "--metrics", arg], capture_output=True, text=True,
                           timeout=30)
        if r.returncode != 2 or "--metrics" not in r.stderr:
            p.append(f"--metrics {arg}: exit {r.returncode} {r.stderr.strip()[:100]}")
    res.report("metrics_usage_errors", p)


suite = harness.Suite(__doc__)


@suite.test("metrics_usage_errors")
def usage(res, ctx):
    test_usage(res, ctx.build)


@suite.test("metrics_exposition_promtool")
def exposition(res, ctx):
    ctx.counts = test_exposition(res, ctx.d, ctx.mport, ctx.work)


@suite.test("metrics_prometheus_scrapes_and_queries")
def prometheus(res, ctx):
    if ctx.counts is None:
        res.report("metrics_prometheus_scrapes_and_queries",
                   ["needs metrics_exposition_promtool (the sends it makes are queried here)"])
        return
    test_prometheus(res, ctx.d, ctx.mport, ctx.work, *ctx.counts)


@suite.test("metrics_bad_requests")
def bad_requests(res, ctx):
    test_bad_requests(res, ctx.mport)


@suite.test("metrics_abusive_scrapers_do_not_stall")
def abusive_scrapers(res, ctx):
    test_abusive_scrapers(res, ctx.d, ctx.mport)


@suite.test("metrics_sigterm_with_open_scrapers")
def sigterm_with_scrapers(res, ctx):
    test_sigterm_with_scrapers(res, ctx.build, ctx.work, ctx.sock, ctx.pol)


def main():
    build, res, work = begin(suite, "metrics", ["promtool", "prometheus"])
    if not work:
        return finish(res)
    ctx = suite
    ctx.work = work
    ctx.sock = sock = os.path.join(work, "control.sock")
    ctx.pol = pol = os.path.join(work, "policy.json")
    write_policy(pol, {"name": "metrics-test", "default": "allow", "rules": [
        {"name": "probe", "action": "audit",
         "match": {"protocol": ["udp"], "dst": [f"127.0.0.1:{PROBE}"]}},
        {"name": "no-port", "action": "deny",
         "match": {"protocol": ["udp"], "dst": [f"127.0.0.1:{DENIED}"]}}]})
    suite.run(ctx, [usage])
    ctx.mport = mport = free_port()
    ctx.counts = None
    ctx.d = d = Daemon(os.path.join(build, "sendguardd"), work, pol, sock,
                       ["--metrics", f"127.0.0.1:{mport}"])
    why = d.start()
    if why:
        res.report("metrics_start", [why])
        return finish(res, work)
    try:
        suite.run(ctx, [exposition, prometheus, bad_requests, abusive_scrapers])
    finally:
        d.stop()
        if d.proc.returncode not in (0, None):
            res.report("metrics_daemon_exit", [f"exit {d.proc.returncode}: "
                                               + " | ".join(d.log[-5:])])
    suite.run(ctx, [sigterm_with_scrapers])
    return finish(res, work)


if __name__ == "__main__":
    sys.exit(main())
