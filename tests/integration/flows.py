#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""sendguardd --flows: allowed sends counted into flows in the kernel.

Every test sends known UDP datagrams from this process to loopback ports private to
this run and accounts for each one: every send must be a send event, inside the count
of a flow record, or counted as lost (events + flow counts + lost = sends), under a
burst, under table overflow (--flow-table-size), across an idle eviction, and with the
policy's per-rule "export" choice in both --flows modes. The first send of a flow is
its send event; deny and audit verdicts are always events; flow records follow
docs/event.schema.json and carry the flow's destination, flags, rule, byte count and
times; the stats record and the metrics carry the flow counters.

Needs root. One line per test, then `N passed, N failed`; exit 1 on failure.
"""
import ctypes
import json
import os
import shutil
import socket
import struct
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expect  # noqa: E402  (tests/integration/expect.py: the schema validator)
import harness  # noqa: E402  (tests/integration/harness.py)

BASE = 21000 + (os.getpid() * 13) % 9000  # UDP destinations private to this run
PAYLOAD = b"f" * 64
# --flow-interval of the tests: 1 s here, longer in emulated guests (a flow idle for three
# intervals ends: the pauses between the sends of a test must stay well below that).
INTERVAL = max(1, round(harness.TIME_SCALE))

suite = harness.Suite(__doc__)


class Sink:
    """A UDP socket on loopback that is never read (its queue fills; sends still
    return 64) and the sending socket."""

    def __init__(self):
        self.rx = {}
        self.tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def port(self, port):
        if port not in self.rx:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
            s.bind(("127.0.0.1", port))
            self.rx[port] = s
        return port

    def send(self, port, n, flags=0):
        """n sends to port; the number that returned 64."""
        self.port(port)
        ok = 0
        for _ in range(n):
            if self.tx.sendto(PAYLOAD, flags, ("127.0.0.1", port)) == len(PAYLOAD):
                ok += 1
        return ok

    def sendmsg(self, port, n, cmsgs=()):
        self.port(port)
        return sum(1 for _ in range(n)
                   if self.tx.sendmsg([PAYLOAD], list(cmsgs), 0,
                                      ("127.0.0.1", port)) == len(PAYLOAD))

    def sendmmsg(self, port, calls, vlen):
        """calls sendmmsg(2) of vlen messages each; the messages sent."""
        self.port(port)
        libc = ctypes.CDLL(None, use_errno=True)
        sa = struct.pack("=HH4s8x", socket.AF_INET, socket.htons(port),
                         socket.inet_aton("127.0.0.1"))
        name = ctypes.create_string_buffer(sa, len(sa))
        buf = ctypes.create_string_buffer(PAYLOAD, len(PAYLOAD))
        iov = struct.pack("=QQ", ctypes.addressof(buf), len(PAYLOAD))
        iovb = ctypes.create_string_buffer(iov, len(iov))
        one = struct.pack("=QI4xQQQQi4xI4x", ctypes.addressof(name), len(sa),
                          ctypes.addressof(iovb), 1, 0, 0, 0, 0)
        vec = ctypes.create_string_buffer(one * vlen, len(one) * vlen)
        sent = 0
        for _ in range(calls):
            r = libc.sendmmsg(self.tx.fileno(), vec, vlen, 0)
            sent += max(r, 0)
        return sent

    def close(self):
        self.tx.close()
        for s in self.rx.values():
            s.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mine(r, ports):
    return (r.get("proc", {}).get("pid") == os.getpid() and
            (r.get("dst") or {}).get("port") in ports)


def account(recs, ports):
    """{port: (events, flow count, flow records)}, lost (whole stream), problems."""
    out = {p: [0, 0, 0] for p in ports}
    lost = sum(r["count"] for r in recs if r.get("type") == "lost")
    probs = []
    for r in recs:
        if not mine(r, ports):
            continue
        port = r["dst"]["port"]
        if r["type"] == "send":
            out[port][0] += 1
        elif r["type"] == "flow":
            out[port][1] += r["count"]
            out[port][2] += 1
            if r["bytes"] != 64 * r["count"]:
                probs.append(f"port {port}: flow record bytes {r['bytes']} for {r['count']} "
                             "sends of 64 bytes")
            if r["first"] > r["last"]:
                probs.append(f"port {port}: flow record first {r['first']} after last "
                             f"{r['last']}")
    return out, lost, probs


def balance(recs, sent, what):
    """Problems unless every send of sent ({port: n}) is an event, in a flow count, or
    lost (lost records count the whole host's: a loss here must be no more than that)."""
    acc, lost, probs = account(recs, set(sent))
    total = sum(sent.values())
    seen = sum(a[0] + a[1] for a in acc.values())
    if seen > total or seen + lost < total:
        probs.append(f"{what}: {total} sends, {seen} in events and flow counts, {lost} lost: "
                     f"{ {p: tuple(a) for p, a in acc.items()} }")
    return acc, probs


def run_daemon(ctx, name, args, policy=None):
    """A daemon with --flows args; (daemon, None) or (None, why)."""
    events = os.path.join(ctx.work, name + ".jsonl")
    pol = None
    if policy is not None:
        pol = os.path.join(ctx.work, name + ".policy.json")
        harness.write_json(pol, policy)
    d = harness.Daemon(ctx.sendguardd, args=["--no-enforce", "--stats-interval", "1"] + args,
                       events=events, policy=pol, control=os.path.join(ctx.work, name + ".sock"),
                       echo=name if ctx.res.verbose else None)
    why = d.start()
    return (None, why) if why else (d, None)


def schema_problems(ctx, recs):
    return ctx.validator.check_all(recs) if ctx.validator else [ctx.validator_why]


@suite.test("flows_burst_accounting", "flows_record_fields", "flows_stats_schema")
def burst(res, ctx):
    """A burst to three destinations, two flag sets, across several records."""
    mport = free_port()
    d, why = run_daemon(ctx, "burst", ["--flows", "--flow-interval", str(2 * INTERVAL),
                                       "--metrics", f"127.0.0.1:{mport}"])
    if why:
        res.report("flows_burst_accounting", [why])
        return
    a, b, c, m, cm, mm = BASE, BASE + 1, BASE + 2, BASE + 3, BASE + 4, BASE + 5
    sent = {a: 0, b: 0, c: 0, m: 0, cm: 0, mm: 0}
    tos = [(socket.IPPROTO_IP, socket.IP_TOS, struct.pack("=i", 0x10))]
    sk = Sink()
    for _ in range(2):
        sent[a] += sk.send(a, 20000)
        sent[b] += sk.send(b, 5000, socket.MSG_DONTWAIT)
        sent[b] += sk.send(b, 3000)
        sent[c] += sk.send(c, 1)
        sent[m] += sk.sendmsg(m, 2000)
        sent[cm] += sk.sendmsg(cm, 20, tos)  # control messages: always events
        sent[mm] += sk.sendmmsg(mm, 100, 8)
        time.sleep(2.5 * INTERVAL)  # a round of records in between (idle: 6 intervals)
    sk.close()
    time.sleep(harness.scaled(1.2))  # a stats record with the counts
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=10) as r:
            metrics = r.read().decode()
    except OSError as e:
        metrics = f"(cannot scrape: {e})"
    rc = d.stop()
    recs = d.records()
    acc, p = balance(recs, sent, "burst")
    if rc != 0:
        p.append(f"daemon exit {rc}: {d.tail()}")
    lost = any(r.get("type") == "lost" for r in recs)
    flows = [r for r in recs if r.get("type") == "flow" and mine(r, sent)]
    sends = [r for r in recs if r.get("type") == "send" and mine(r, sent)]
    if not lost:
        # One event per flow (its first send): a, b with MSG_DONTWAIT, b without, c, the
        # sendmsg and the sendmmsg flow; every send with control messages.
        if len(sends) != 6 + sent[cm]:
            p.append(f"{len(sends)} send events, expected {6 + sent[cm]} (the first send of "
                     "each flow, every send with control messages): "
                     f"{[(r['dst']['port'], r['flags']) for r in sends][:8]}")
        if acc[cm][:2] != [sent[cm], 0] or sent[cm] != 40:
            p.append(f"port {cm}: {sent[cm]} sends with control messages: {acc[cm]}")
        if acc[mm][0] != 1 or acc[mm][1] != sent[mm] - 1 or sent[mm] != 1600:
            p.append(f"port {mm}: {sent[mm]} sendmmsg messages: {acc[mm]}")
        if acc[c] != [1, 1, 1]:
            p.append(f"port {c}: one send per round, expected one event and one flow record "
                     f"of 1: {acc[c]}")
        if acc[a][2] < 2:
            p.append(f"port {a}: {acc[a][2]} flow records, expected one per round (>= 2)")
    res.report("flows_burst_accounting", p)

    p = []
    keys = {(r["dst"]["port"], tuple(r["flags"])) for r in flows}
    for want in ((a, ()), (b, ("MSG_DONTWAIT",)), (b, ())):
        if want not in keys:
            p.append(f"no flow record for port {want[0]} flags {list(want[1])}: {sorted(keys)}")
    calls = {r["dst"]["port"]: r["syscall"] for r in flows}
    if calls.get(m) != "sendmsg" or calls.get(mm) != "sendmmsg":
        p.append(f"flow records' syscalls: {calls}")
    for r in flows:
        if (r["syscall"] != {m: "sendmsg", mm: "sendmmsg"}.get(r["dst"]["port"], "sendto") or r["sock"] != {"family": "inet", "type": "dgram",
                                                       "protocol": "udp"}
                or r["dst"].get("addr") != "127.0.0.1" or r["dst_source"] != "msg"
                or r["errno"] is not None or r["policy"]["verdict"] != "allow"
                or r["proc"]["uid"] != os.getuid() or r["end"] not in (None, "exit")):
            p.append(f"flow record fields: {json.dumps(r)[:400]}")
            break
        if r["proc"]["exe"] != os.path.realpath(sys.executable):
            p.append(f"flow exe {r['proc']['exe']}, expected {os.path.realpath(sys.executable)}")
            break
    if flows and not any(r["end"] == "exit" for r in flows) and \
            not any(r["end"] is None for r in flows):
        p.append("no flow record with end null or exit")
    res.report("flows_record_fields", p)

    p = schema_problems(ctx, recs)
    values = {}
    for line in metrics.splitlines():
        if line.startswith("sendguard_flow") and " " in line:
            name, _, val = line.rpartition(" ")
            values[name] = float(val)
    if values.get("sendguard_flow_sends_total", 0) < 1 or \
            values.get("sendguard_flows_active", 0) < 1 or \
            "sendguard_flow_table_full_total" not in values:
        p.append(f"metrics: {values or metrics[:300]}")
    stats = [r for r in recs if r.get("type") == "stats"]
    if not stats or "flows" not in stats[-1]:
        p.append(f"no stats record with flows: {stats[-1:] }")
    else:
        f = stats[-1]["flows"]
        if f["sends"] < 1 or f["records"] < 1 or f["sends"] < f["records"]:
            p.append(f"stats flows {f}: a round of flow records came before it")
    res.report("flows_stats_schema", p)  # schema, stats record, metrics


@suite.test("flows_table_overflow")
def overflow(res, ctx):
    """More flows than the table holds: the sends with no room are events, counted."""
    d, why = run_daemon(ctx, "overflow", ["--flows", "--flow-interval", "5",
                                          "--flow-table-size", "16"])
    if why:
        res.report("flows_table_overflow", [why])
        return
    ports = [BASE + 10 + i for i in range(48)]
    sk = Sink()
    sent = {}
    for _ in range(3):
        for port in ports:
            sent[port] = sent.get(port, 0) + sk.send(port, 40)
    sk.close()
    time.sleep(harness.scaled(1.5))
    rc = d.stop()
    recs = d.records()
    acc, p = balance(recs, sent, "overflow")
    if rc != 0:
        p.append(f"daemon exit {rc}: {d.tail()}")
    stats = [r for r in recs if r.get("type") == "stats" and "flows" in r]
    if not stats or stats[-1]["flows"]["table_full"] < 1:
        p.append(f"stats flows.table_full not counted: {stats[-1:]}")
    all_events = [p_ for p_, a in acc.items() if a[2] == 0 and a[0] == sent[p_]]
    if len(all_events) < 48 - 16:
        p.append(f"only {len(all_events)} of 48 destinations were all events (table of 16)")
    p += schema_problems(ctx, recs)
    res.report("flows_table_overflow", p)


@suite.test("flows_idle_eviction")
def idle(res, ctx):
    """A flow idle past --flow-interval is evicted; the next send starts a new one."""
    d, why = run_daemon(ctx, "idle", ["--flows", "--flow-interval", str(INTERVAL)])
    if why:
        res.report("flows_idle_eviction", [why])
        return
    port = BASE + 70
    sk = Sink()
    sent = {port: sk.send(port, 500)}
    time.sleep(3 * INTERVAL + 2.5)  # idle 3 intervals: counts no more; +1 s: evicted
    sent[port] += sk.send(port, 500)
    sk.close()
    time.sleep(harness.scaled(1.5))
    rc = d.stop()
    recs = d.records()
    acc, p = balance(recs, sent, "idle")
    if rc != 0:
        p.append(f"daemon exit {rc}: {d.tail()}")
    if not any(r.get("type") == "lost" for r in recs) and acc[port][0] != 2:
        p.append(f"{acc[port][0]} send events, expected 2 (the first send of each flow)")
    res.report("flows_idle_eviction", p)


POLICY = {
    "name": "flows-test",
    "default": "allow",
    "rules": [
        {"name": "noisy", "action": "allow", "export": "flows",
         "match": {"dst": [f"127.0.0.1:{BASE + 80}"]}},
        {"name": "kept", "action": "allow", "export": "events",
         "match": {"dst": [f"127.0.0.1:{BASE + 81}"]}},
        {"name": "watched", "action": "audit",
         "match": {"dst": [f"127.0.0.1:{BASE + 82}"]}},
        {"name": "refused", "action": "deny",
         "match": {"dst": [f"127.0.0.1:{BASE + 83}"]}},
    ],
}
NOISY, KEPT, WATCHED, REFUSED, OTHER = (BASE + 80, BASE + 81, BASE + 82, BASE + 83,
                                        BASE + 84)


def export_run(res, ctx, name, mode_args, other_flows):
    d, why = run_daemon(ctx, name, mode_args + ["--flow-interval", str(INTERVAL)],
                        policy=POLICY)
    if why:
        res.report(name, [why])
        return
    sk = Sink()
    sent = {p: sk.send(p, 200) for p in (NOISY, KEPT, WATCHED, REFUSED, OTHER)}
    sk.close()
    time.sleep(INTERVAL + harness.scaled(0.5))  # a round of flow records
    # The readable form of the flow records, through the control socket.
    cli = harness.Cli(os.path.join(ctx.build, "sendguard"), d.sock)
    text = cli.run("events", "--filter", f"type=flow,pid={os.getpid()}", "--format", "text")
    rc_st, out_st, _ = cli.run("status", "-j")
    status_text = cli.run("status")[1]
    rc = d.stop()
    recs = d.records()
    acc, p = balance(recs, sent, name)
    if rc != 0:
        p.append(f"daemon exit {rc}: {d.tail()}")
    lines = [ln for ln in text[1].splitlines() if f":{NOISY} " in ln]
    if text[0] != 0 or not lines or not all(" flow sendto pid " in ln and "(rule noisy)" in ln
                                            and " sends " in ln for ln in lines):
        p.append(f"sendguard events --format text: exit {text[0]}: {text[1][-300:]!r} "
                 f"{text[2][-200:]!r}")
    mode = "rules" if "--flows=rules" in mode_args else "all"
    st = json.loads(out_st).get("flows") if rc_st == 0 else None
    if not st or st.get("mode") != mode or st.get("interval_s") != INTERVAL or \
            st.get("table_size") != 16384:
        p.append(f"sendguard status -j: flows {st}, expected mode {mode}, interval_s "
                 f"{INTERVAL}, table_size 16384 (exit {rc_st})")
    if f"flows        {mode}, records every {INTERVAL} s" not in status_text:
        p.append(f"sendguard status: no flows line: {status_text!r}")
    if not any(r.get("type") == "lost" for r in recs):
        want = {NOISY: True, KEPT: False, WATCHED: False, REFUSED: False, OTHER: other_flows}
        for port, flows in want.items():
            ev, cnt, _ = acc[port]
            if flows and (ev != 1 or cnt != sent[port] - 1):
                p.append(f"port {port}: {ev} events, {cnt} in flows: expected one event, "
                         "the rest in flows")
            if not flows and (ev != sent[port] or cnt):
                p.append(f"port {port}: {ev} events, {cnt} in flows: expected every send "
                         "an event")
        verdicts = {r["policy"]["verdict"] for r in recs
                    if r.get("type") == "send" and mine(r, {WATCHED})}
        if verdicts != {"audit"}:
            p.append(f"port {WATCHED}: verdicts {verdicts}, expected audit")
        verdicts = {r["policy"]["verdict"] for r in recs
                    if r.get("type") == "send" and mine(r, {REFUSED})}
        if verdicts != {"deny"}:
            p.append(f"port {REFUSED}: verdicts {verdicts}, expected deny")
        rules = {r["policy"]["rule"] for r in recs
                 if r.get("type") == "flow" and mine(r, {NOISY})}
        if rules != {"noisy"}:
            p.append(f"flow records of port {NOISY} name rules {rules}, expected noisy")
    res.report(name, p)


@suite.test("flows_export_rules_mode")
def export_rules(res, ctx):
    """--flows=rules: only the rule that says "export": "flows" is aggregated."""
    export_run(res, ctx, "flows_export_rules_mode", ["--flows=rules"], False)


@suite.test("flows_export_all_mode")
def export_all(res, ctx):
    """--flows: every allowed send but the rule that says "export": "events"."""
    export_run(res, ctx, "flows_export_all_mode", ["--flows"], True)


@suite.test("flows_off_no_records")
def flows_off(res, ctx):
    """Without --flows, a policy's "export": "flows" changes nothing: all events."""
    d, why = run_daemon(ctx, "off", [], policy=POLICY)
    if why:
        res.report("flows_off_no_records", [why])
        return
    sk = Sink()
    sent = {NOISY: sk.send(NOISY, 100)}
    sk.close()
    time.sleep(harness.scaled(1.2))
    d.stop()
    recs = d.records()
    acc, p = balance(recs, sent, "off")
    if any(r.get("type") == "flow" for r in recs):
        p.append("flow records without --flows")
    if not any(r.get("type") == "lost" for r in recs) and acc[NOISY][0] != sent[NOISY]:
        p.append(f"{acc[NOISY][0]} events of {sent[NOISY]} sends")
    res.report("flows_off_no_records", p)


@suite.test("flows_bad_options")
def bad_options(res, ctx):
    """Bad --flows values and export attributes are refused with the cause."""
    import subprocess
    p = []
    for args, want in ((["--flows=some"], "--flows=some"),
                       (["--flow-interval", "0"], "--flow-interval"),
                       (["--flow-table-size", "3"], "--flow-table-size")):
        r = subprocess.run([ctx.sendguardd, "-f", "--control", "none"] + args,
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 2 or want not in r.stderr:
            p.append(f"{args}: exit {r.returncode}, stderr {r.stderr.strip()[:200]}")
    for rule, want in (({"name": "x", "action": "deny", "export": "flows"}, "allow rules"),
                       ({"name": "x", "action": "allow", "export": "some"}, "unknown export")):
        path = os.path.join(ctx.work, "bad.json")
        harness.write_json(path, {"rules": [rule]})
        r = subprocess.run([ctx.sendguardd, "-n", "-p", path], capture_output=True,
                           text=True, timeout=30)
        if r.returncode == 0 or want not in r.stdout + r.stderr:
            p.append(f"{rule}: exit {r.returncode}, {(r.stdout + r.stderr).strip()[:200]}")
    res.report("flows_bad_options", p)


def setup(s):
    if not harness.need_root(s.res, "flows"):
        return None
    s.sendguardd = os.path.join(s.build, "sendguardd")
    s.work = tempfile.mkdtemp(prefix="sendguard-flows-")
    s.validator, s.validator_why = expect.load_validator(
        os.path.join(harness.ROOT, "docs", "event.schema.json"))
    return s


def teardown(s):
    shutil.rmtree(s.work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(suite.main(setup, teardown))
