# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Expected sendguard events (README "Event fields", docs/event.schema.json) from what the sender reports.

The sender (tests/helpers/sender.c) prints raw facts: numbers for socket
family/type/protocol, flags, cmsg level/type and errno; addresses in the
event's shape. This module turns them into the exact event the daemon must
write, compares field by field and explains every difference.
"""

import calendar
import codecs
import json
import os
import re

import harness  # tests/integration/harness.py: cgroup v2 discovery

# Scenarios run by the main group, one test each (send_NAME).
SCENARIOS = [
    "udp4", "udp6", "mapped", "unix_path", "unix_abstract", "unix_unnamed",
    "netlink", "tcp", "iov", "scm", "cmsg_ip", "flags", "errors", "mmsg",
    "mmsg_many", "thread", "child", "comm_bytes", "paths",
]

# The embedded default policy (observe): every send allowed by the default.
POLICY = {"verdict": "allow", "rule": None, "version": 1, "enforced_by": None}

FAMILIES = {1: "unix", 2: "inet", 10: "inet6", 16: "netlink", 17: "packet", 40: "vsock"}
TYPES = {1: "stream", 2: "dgram", 3: "raw", 4: "rdm", 5: "seqpacket"}
INET_PROTOCOLS = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6", 132: "sctp",
                  136: "udplite", 262: "mptcp"}

# Linux MSG_* bits (include/linux/socket.h) that sendguard names.
MSG_FLAGS = [
    (0x1, "MSG_OOB"), (0x2, "MSG_PEEK"), (0x4, "MSG_DONTROUTE"), (0x8, "MSG_CTRUNC"),
    (0x10, "MSG_PROBE"), (0x20, "MSG_TRUNC"), (0x40, "MSG_DONTWAIT"), (0x80, "MSG_EOR"),
    (0x100, "MSG_WAITALL"), (0x200, "MSG_FIN"), (0x400, "MSG_SYN"), (0x800, "MSG_CONFIRM"),
    (0x1000, "MSG_RST"), (0x2000, "MSG_ERRQUEUE"), (0x4000, "MSG_NOSIGNAL"),
    (0x8000, "MSG_MORE"), (0x10000, "MSG_WAITFORONE"), (0x40000, "MSG_BATCH"),
    (0x4000000, "MSG_ZEROCOPY"), (0x20000000, "MSG_FASTOPEN"),
    (0x40000000, "MSG_CMSG_CLOEXEC"),
]

CMSG_LEVELS = {1: "SOL_SOCKET", 0: "IPPROTO_IP", 41: "IPPROTO_IPV6", 17: "IPPROTO_UDP"}
CMSG_TYPES = {
    (1, 1): "SCM_RIGHTS", (1, 2): "SCM_CREDENTIALS",
    (0, 8): "IP_PKTINFO", (0, 1): "IP_TOS", (0, 2): "IP_TTL",
    (41, 50): "IPV6_PKTINFO", (17, 103): "UDP_SEGMENT",
}

# Linux errno numbers used by the scenarios (EOPNOTSUPP, not ENOTSUP).
ERRNOS = {9: "EBADF", 14: "EFAULT", 88: "ENOTSOCK", 89: "EDESTADDRREQ", 90: "EMSGSIZE",
          95: "EOPNOTSUPP", 1: "EPERM", 11: "EAGAIN", 22: "EINVAL", 32: "EPIPE",
          111: "ECONNREFUSED", 105: "ENOBUFS", 101: "ENETUNREACH"}

TS_RE = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z$")


def _latin1_escape(err):
    # The encoder writes a byte that is not valid UTF-8 as \u00XX (common/json.h).
    return "".join(chr(b) for b in err.object[err.start:err.end]), err.end


codecs.register_error("sg_latin1", _latin1_escape)


def decode_bytes(raw):
    """What a JSON reader must get for bytes the encoder escapes."""
    return raw.decode("utf-8", "sg_latin1")


# --- the environment ---------------------------------------------------------

class AnyInt:
    """Placeholder: an integer whose exact value this machine cannot tell us."""

    def __repr__(self):
        return "<any int>"


class AnyValue:
    """Placeholder: any value (checked elsewhere, e.g. the policy object of
    the policy tests)."""

    def __repr__(self):
        return "<any value>"


ANY = AnyValue()


def environment(build, ci):
    mount, path = harness.cgroup2_mount(), harness.own_cgroup()
    cgid = AnyInt()
    if mount and path is not None:
        try:
            cgid = os.stat(os.path.join(mount, path.lstrip("/"))).st_ino
        except OSError:
            pass
    exe = os.path.realpath(os.path.join(build, "tests", "sender"))
    st = os.stat(exe)
    return {
        "exe": exe,
        "exe_dev": f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}",
        "exe_ino": st.st_ino,
        "cgroup": path,
        "cgroup_id": cgid,
        "runner_pid": os.getpid(),
        "ci": ci,
    }


# --- the schema ----------------------------------------------------------------

def _leaf_errors(e):
    """For oneOf/anyOf errors, the errors of the branch meant for this value
    (its "type"/"family" matched; else the one with the fewest errors),
    recursively; otherwise the error itself."""
    if not e.context:
        return [e]
    branches = {}
    for sub in e.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)

    def distance(errs):
        wrong_kind = any(x.validator in ("const", "enum", "type")
                         and (len(x.relative_path) == 0
                              or list(x.relative_path) in (["type"], ["family"]))
                         for x in errs)
        return (wrong_kind, len(errs))

    best = min(branches.values(), key=distance)
    out = []
    for sub in best:
        out += _leaf_errors(sub)
    return out


class Validator:
    def __init__(self, validator):
        self.v = validator

    def check_all(self, records, limit=20):
        problems = []
        for r in records:
            for top in self.v.iter_errors(r):
                for e in _leaf_errors(top):
                    where = "/".join(str(p) for p in e.absolute_path) or "(record)"
                    problems.append(f"schema: seq {r.get('seq')} type {r.get('type')}: "
                                    f"{where}: {e.message[:300]}")
                if len(problems) >= limit:
                    return problems[:limit] + [f"schema: (stopped after {limit} errors)"]
        return problems


def load_validator(path):
    """(Validator, None) or (None, reason)."""
    try:
        import jsonschema
    except ImportError as e:
        return None, f"python3-jsonschema is not installed ({e}); run make deps"
    try:
        with open(path) as f:
            schema = json.load(f)
    except OSError as e:
        return None, f"cannot read {path}: {e.strerror}"
    except ValueError as e:
        return None, f"{path} is not JSON: {e}"
    try:
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
    except jsonschema.exceptions.SchemaError as e:
        return None, f"{path} is not a valid JSON Schema: {e.message}"
    return Validator(cls(schema, format_checker=jsonschema.FormatChecker())), None


# --- expected events -------------------------------------------------------------

def flag_names(v):
    names = []
    for bit, name in MSG_FLAGS:
        if v & bit:
            names.append(name)
            v &= ~bit
    bit = 1
    while v:
        if v & bit:
            names.append(hex(bit))
            v &= ~bit
        bit <<= 1
    return names


def sock_obj(raw):
    if raw is None:
        return None
    family, typ, proto = raw
    fam = FAMILIES.get(family, family)
    if family in (2, 10):
        proto = INET_PROTOCOLS.get(proto, proto)
    return {"family": fam, "type": TYPES.get(typ, typ), "protocol": proto}


def dst_obj(raw):
    if raw is None:
        return None
    d = dict(raw)
    if "abstract_hex" in d:
        d["abstract"] = decode_bytes(bytes.fromhex(d.pop("abstract_hex")))
    return d


def control_obj(raw):
    if raw is None:
        return None
    cmsgs = []
    for level, typ, fds in raw["cmsgs"]:
        c = {"level": CMSG_LEVELS.get(level, level),
             "type": CMSG_TYPES.get((level, typ), typ)}
        if fds >= 0:
            c["fds"] = fds
        cmsgs.append(c)
    out = {"len": raw["len"], "cmsgs": cmsgs}
    if len(cmsgs) > 8:
        # The event lists the first 8 and says there were more.
        out = {"len": raw["len"], "cmsgs": cmsgs[:8], "truncated": True}
    if raw.get("malformed"):
        out["malformed"] = True
    return out


def expected_event(ev, procs, env, policy=None):
    p = procs.get(ev["pid"])
    if p is None:
        raise KeyError(f"sender listed no proc for pid {ev['pid']}")
    out = {
        "syscall": ev["syscall"],
        "proc": {
            "pid": ev["pid"], "tid": ev["tid"], "ppid": p["ppid"],
            "uid": p["uid"], "gid": p["gid"],
            "comm": decode_bytes(bytes.fromhex(p["comm_hex"])),
            "exe": env["exe"], "exe_dev": env["exe_dev"], "exe_ino": env["exe_ino"],
            "cgroup_id": env["cgroup_id"], "cgroup": env["cgroup"],
        },
        "fd": ev["fd"],
        "sock": sock_obj(ev["sock"]),
        "dst": dst_obj(ev["dst"]),
        "dst_source": ev["dst_source"],
        "flags": flag_names(ev["flags"]),
        "flags_raw": ev["flags"],
        "len": ev["len"],
        "iovlen": ev["iovlen"],
        "control": control_obj(ev["control"]),
        "ret": ev["ret"],
        "errno": ERRNOS.get(ev["errno"], ev["errno"]) if ev["errno"] else None,
        "policy": POLICY if policy is None else policy,
    }
    if ev.get("any_flags"):
        # io_uring: an inline attempt adds MSG_DONTWAIT where the kernel tells
        # the flags (fexit on sock_sendmsg), not where it does not (the
        # sock_send_length tracepoint).
        out["flags"] = ANY
        out["flags_raw"] = ANY
    if ev["index"] >= 0:
        out["index"] = ev["index"]
        out["vlen"] = ev["vlen"]
    return out


# --- comparison ----------------------------------------------------------------

def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def diff(want, got, path=""):
    """Differences as 'path: expected X, got Y' strings."""
    if isinstance(want, AnyValue):
        return []
    if isinstance(want, AnyInt):
        return [] if _is_int(got) else [f"{path}: expected an integer, got {got!r}"]
    if isinstance(want, dict) and isinstance(got, dict):
        out = []
        for k in want:
            p = f"{path}.{k}" if path else k
            if k not in got:
                out.append(f"{p}: missing (expected {json.dumps(want[k], default=repr)})")
            else:
                out += diff(want[k], got[k], p)
        for k in got:
            if k not in want:
                p = f"{path}.{k}" if path else k
                out.append(f"{p}: unexpected key (value {json.dumps(got[k])})")
        return out
    if path == "flags" and isinstance(got, list):
        # Names of set bits; the spec does not fix their order.
        if sorted(map(str, want)) == sorted(map(str, got)):
            return []
    same = want == got and type(want) is type(got)
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        out = []
        for i, (w, g) in enumerate(zip(want, got)):
            out += diff(w, g, f"{path}[{i}]")
        return out
    if same:
        return []
    return [f"{path}: expected {json.dumps(want, default=repr)}, "
            f"got {json.dumps(got, default=repr)}"]


def parse_ts(ts):
    m = TS_RE.match(ts) if isinstance(ts, str) else None
    if not m:
        return None
    y, mo, d, h, mi, s, frac = m.groups()
    t = calendar.timegm((int(y), int(mo), int(d), int(h), int(mi), int(s), 0, 0, 0))
    return t + (int(frac.ljust(9, "0")) / 1e9 if frac else 0.0)


def envelope_problems(rec, window):
    out = []
    if rec.get("v") != 1:
        out.append(f"v: expected 1, got {rec.get('v')!r}")
    if rec.get("type") != "send":
        out.append(f"type: expected \"send\", got {rec.get('type')!r}")
    if not _is_int(rec.get("seq")):
        out.append(f"seq: expected an integer, got {rec.get('seq')!r}")
    t = parse_ts(rec.get("ts"))
    if t is None:
        out.append(f"ts: expected RFC 3339 UTC like 2026-11-22T21:50:01.123456789Z, "
                   f"got {rec.get('ts')!r}")
    elif window and not window[0] - 2.0 <= t <= window[1] + 2.0:
        out.append(f"ts: {rec.get('ts')} is {t - window[0]:+.3f} s from the sender's start "
                   f"(the send happened within {window[1] - window[0]:.3f} s of it)")
    return out


def _summary(e):
    return (f"{e.get('syscall')} tid={e.get('proc', {}).get('tid', e.get('tid'))} "
            f"fd={e.get('fd')} idx={e.get('index')} len={e.get('len')} ret={e.get('ret')}")


def _key(e, tid, strict):
    k = (tid, e.get("syscall"), e.get("fd"), e.get("index"))
    return k + (e.get("len"),) if strict else k


def check_scenario(info, actual, env, window, policy=None):
    """Problems for one sender run: its expected events against the file's.
    policy: the expected policy object (default POLICY; ANY: not checked)."""
    procs = {p["pid"]: p for p in info["procs"]}
    problems = []
    # The main process's parent is this runner.
    me = procs.get(info["pid"])
    if me and me["ppid"] != env["runner_pid"]:
        problems.append(f"sender reports ppid {me['ppid']}, runner is {env['runner_pid']}")
    if env["cgroup"] is None:
        problems.append("cannot tell our cgroup v2 path from /proc/self/cgroup")
    by_pid = {}
    for ev in info["events"]:
        by_pid.setdefault(ev["pid"], []).append(ev)
    for pid, evs in by_pid.items():
        got = [a for a in actual if a.get("proc", {}).get("pid") == pid]
        want = [expected_event(ev, procs, env, policy) for ev in evs]
        notes = [ev["note"] for ev in evs]
        if len(got) == len(want):
            pairs = list(zip(range(len(want)), got))
        else:
            problems.append(f"pid {pid}: expected {len(want)} send events, got {len(got)}")
            used = set()
            pairs = []
            # In order: first by (tid, syscall, fd, index, len), then the
            # leftovers by (tid, syscall, fd, index) to show what differs.
            for strict in (True, False):
                for i, w in enumerate(want):
                    if any(i == p for p, _ in pairs):
                        continue
                    k = _key(w, w["proc"]["tid"], strict)
                    for j, a in enumerate(got):
                        if j not in used and _key(a, a.get("proc", {}).get("tid"), strict) == k:
                            used.add(j)
                            pairs.append((i, a))
                            break
            matched = {i for i, _ in pairs}
            for i, w in enumerate(want):
                if i not in matched:
                    problems.append(f"  missing #{i} ({notes[i]}): {_summary(w)}")
            for j, a in enumerate(got):
                if j not in used:
                    problems.append(f"  unexpected event seq {a.get('seq')}: {_summary(a)}")
            pairs.sort(key=lambda p: p[0])
        for i, a in pairs:
            label = f"pid {pid} #{i} ({notes[i]}, seq {a.get('seq')})"
            rest = {k: v for k, v in a.items() if k not in ("v", "seq", "ts", "type")}
            for d in envelope_problems(a, window) + diff(want[i], rest):
                problems.append(f"{label}: {d}")
    return problems


def check_stats(stats):
    """stats: [(record, number of send records written before it)]."""
    if not stats:
        return ["no stats record with --stats-interval 1 in a run of more than 1.5 s"]
    out = []
    for r, before in stats:
        for k in ("events", "lost", "denied"):
            if not _is_int(r.get(k)):
                out.append(f"stats seq {r.get('seq')}: {k} is {r.get(k)!r}, expected an integer")
        if _is_int(r.get("events")) and r["events"] != before:
            out.append(f"stats seq {r.get('seq')}: events: expected {before} (send records "
                       f"written before it), got {r['events']}")
        if r.get("denied") not in (0, None) and _is_int(r.get("denied")):
            out.append(f"stats seq {r.get('seq')}: denied: expected 0 (observe policy), "
                       f"got {r['denied']}")
    return out
