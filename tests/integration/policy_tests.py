# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""sendguard policy integration tests: the real daemon judging real sends.

Called by run.py (run_check_tests always, run_bpf_tests as root):

  policy_check_invalid, policy_check_missing
      sendguardd -n on an invalid policy (exit 2, errors by JSON path) and on
      a missing file (exit 2, names the file).
  policy_file_NAME (one per policies/*.json)
      -n exits 0; a real run starts with the "loaded" policy record.
  policy_mix_loaded, policy_mix_fields, policy_mix_verdicts,
  policy_cli_agreement, policy_stats_rule_hits
      One policy using every match key (mix_policy below), the sender's
      policy_mix scenario (each send's note names the rule and verdict this
      policy must give) and every scenario of the main group: every event's
      verdict and rule equal what `sendguard policy test` says for the same
      send built from the event's own fields; per-rule hits in stats records.
  policy_kill_signal
      A kill rule on 127.0.0.1:6666: the child that sends there dies of
      SIGKILL (event: verdict kill, enforced_by signal), and so does a child
      connected there by TCP that sends with a forged destination (the kernel
      sends to the peer: the event's dst is the peer); its sibling sending
      to 6667 lives.
  policy_reload_stream, policy_reload_refused
      SIGHUP under a stream of sends: version 1/rule r-a or version 2/rule
      r-b, never a mix, never backwards, the "loaded" record between them;
      then an invalid file: a "refused" record, version 2 stays in force.
"""

import concurrent.futures
import glob
import json
import os
import signal
import subprocess
import time

import expect

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

MIX_NAME = "sendguard-it-mix"
STATS_PORT = 7100  # r-port-only of the mix policy
STATS_MS = 300
KILL_PORT, SIBLING_PORT = 6666, 6667
RELOAD_PORT = 7410
RELOAD_MS = 2000


def write_json(path, obj):
    """Writes obj to path atomically (rename), so a reload never reads half."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.rename(tmp, path)


def write_text(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def mix_policy(sender_exe, unix_dir):
    """Every match key; the notes of sender.c's policy_mix name these rules."""
    rules = [
        ("r-cgroup-none", "deny", {"cgroup": ["/sendguard-it-no-such.slice"]}),
        ("r-exe-other", "deny", {"exe": ["/bin/sh"]}),
        ("r-comm", "deny", {"comm": ["sg-pol-comm"], "port": [5000]}),
        ("r-uid", "audit", {"uid": [65534], "gid": [65534]}),
        ("r-mmsg", "deny", {"syscall": ["sendmmsg"], "port": [6000]}),
        ("r-flags-all", "audit", {"flags_all": ["MSG_DONTWAIT", "MSG_NOSIGNAL"],
                                  "port": [6001]}),
        ("r-flags-any", "deny", {"flags_any": ["MSG_CONFIRM", "MSG_EOR"],
                                 "port": ["6002-6003"]}),
        ("r-flags-none", "allow", {"flags_none": ["MSG_DONTWAIT"], "port": [6004],
                                   "family": ["inet"]}),
        ("r-cmsg-tos", "deny", {"cmsg": ["IP_TOS", "IP_TTL"], "family": ["inet"]}),
        ("r-fd-abs", "audit", {"cmsg": ["SCM_RIGHTS"], "unix": ["@sg-pol-abs*"]}),
        ("r-fd", "deny", {"cmsg": ["SCM_RIGHTS"]}),
        ("r-len", "audit", {"exe": [sender_exe], "len_min": 1000, "len_max": 1999,
                            "port": [6005]}),
        ("r-star53", "deny", {"dst": ["*:53"]}),
        ("r-net8-range", "audit", {"dst": ["10.0.0.0/8:8000-8999"]}),
        ("r-v6-443", "deny", {"dst": ["[fd00::/8]:443"], "protocol": ["udp"]}),
        ("r-v6-host", "audit", {"dst": ["2001:db8::1"]}),
        ("r-tcp-lo", "allow", {"type": ["stream"], "protocol": ["tcp"],
                               "dst": ["127.0.0.0/8"]}),
        ("r-net8", "deny", {"dst": ["10.0.0.0/8"]}),
        ("r-lo-single", "allow", {"dst": ["127.0.0.2"]}),
        ("r-lo-port", "audit", {"dst": ["127.0.0.0/8:7000"], "port": ["7000-7001"]}),
        ("r-port-only", "deny", {"port": [7100, "7200-7300"]}),
        ("r-any6", "audit", {"family": ["inet6"], "dst": ["::/0"]}),
        ("r-unix-exact", "allow", {"unix": [os.path.join(unix_dir, "exact.sock")]}),
        ("r-unix-prefix", "deny", {"unix": [os.path.join(unix_dir, "pre-") + "*"]}),
        ("r-abstract", "audit", {"unix": ["@sg-pol-abs-exact"]}),
        ("r-abs-prefix", "allow", {"unix": ["@sg-pol-*"]}),
        ("r-netlink", "allow", {"family": ["netlink"], "protocol": [0]}),
        ("r-unix-dgram", "audit", {"family": ["unix"], "type": ["dgram"], "cgroup": ["/"]}),
        ("r-lo-all", "allow", {"dst": ["127.0.0.0/8", "::1"], "cgroup": ["/"],
                               "syscall": ["sendto", "sendmsg"]}),
    ]
    return {"name": MIX_NAME, "default": "audit",
            "rules": [{"name": n, "action": a, "match": m} for n, a, m in rules]}


# --- helpers -------------------------------------------------------------------

def by_seq(recs):
    return sorted(recs, key=lambda r: r.get("seq", 0))


def policy_records(tail, result=None):
    return [r for r in by_seq(tail.of_type("policy"))
            if result is None or r.get("result") == result]


def pair_events(info, actual):
    """[(exp, event)] in order per pid, plus problems when counts differ."""
    pairs, problems = [], []
    by_pid = {}
    for ev in info["events"]:
        by_pid.setdefault(ev["pid"], []).append(ev)
    for pid, evs in by_pid.items():
        got = by_seq([a for a in actual if a["proc"].get("pid") == pid])
        if len(got) != len(evs):
            problems.append(f"pid {pid}: expected {len(evs)} send events, got {len(got)}")
            continue
        pairs += list(zip(evs, got))
    return pairs, problems


def loaded_record_problems(rec, name, source, version, nrules, default):
    want = {"type": "policy", "result": "loaded", "source": source, "name": name,
            "version": version, "rules": nrules, "default": default, "errors": []}
    out = []
    if rec is None:
        return [f"no policy record (wanted {json.dumps(want)})"]
    for k, v in want.items():
        if rec.get(k) != v:
            out.append(f"policy record seq {rec.get('seq')}: {k}: expected {json.dumps(v)}, "
                       f"got {json.dumps(rec.get(k))}")
    return out


def wait_until(tail, cond, timeout):
    deadline = time.monotonic() + timeout
    while True:
        tail.poll()
        if cond() or time.monotonic() >= deadline:
            return cond()
        time.sleep(0.05)


class Cli:
    """sendguard policy test -j, the same question as a real send."""

    def __init__(self, build, policy_path, infos):
        self.exe = os.path.join(build, "sendguard")
        self.policy = policy_path
        # Raw bytes the senders used (comm, abstract names): the event escapes
        # bytes that are not UTF-8, so its text alone may not tell them.
        self.raw = {}
        for info in infos:
            for p in info["procs"]:
                b = bytes.fromhex(p["comm_hex"])
                self.raw[expect.decode_bytes(b)] = b
            for ev in info["events"]:
                d = ev.get("dst") or {}
                if "abstract_hex" in d:
                    b = bytes.fromhex(d["abstract_hex"])
                    self.raw[expect.decode_bytes(b)] = b

    def bytes_of(self, text):
        return self.raw.get(text, text.encode("utf-8"))

    def args(self, ev):
        """argv for the event, or (None, reason) when the CLI cannot ask it."""
        sock = ev.get("sock")
        if sock is None:
            return None, "no socket"
        a = [self.exe, "policy", "test", self.policy, "-j", "--syscall", ev["syscall"],
             "--family", str(sock["family"]), "--type", str(sock["type"]),
             "--protocol", str(sock["protocol"])]
        d = ev.get("dst")
        if d:
            fam = d.get("family")
            if fam == "inet":
                a += ["--dst", f"{d['addr']}:{d['port']}"]
            elif fam == "inet6":
                a += ["--dst", f"[{d['addr']}]:{d['port']}"]
            elif fam == "unix" and "path" in d:
                path = self.bytes_of(d["path"])
                if len(path) > 107:
                    # A full 108-byte sun_path is a legal destination, but
                    # the CLI (like the policy language) takes 107 at most.
                    return None, "unix path of 108 bytes (the CLI takes at most 107)"
                a += ["--unix", path]
            elif fam == "unix" and "abstract" in d:
                name = self.bytes_of(d["abstract"])
                if b"\0" in name:
                    return None, "abstract name with a NUL byte (not an argv string)"
                a += ["--unix", b"@" + name]
        flags = [f for f in ev.get("flags", []) if f.startswith("MSG_")]
        if flags:
            a += ["--flags", ",".join(flags)]
        ctl = ev.get("control")
        if ctl:
            cm = [c["type"] for c in ctl.get("cmsgs", []) if isinstance(c.get("type"), str)]
            if cm:
                a += ["--cmsg", ",".join(cm)]
        # len is null for more than 1024 iovecs (the kernel refuses the call
        # unread); the kernel side judges such a send as offering 0 bytes.
        a += ["--len", str(ev["len"] if ev["len"] is not None else 0)]
        p = ev["proc"]
        a += ["--comm", self.bytes_of(p["comm"]), "--uid", str(p["uid"]), "--gid", str(p["gid"])]
        if p.get("exe"):
            a += ["--exe", p["exe"]]
        if p.get("cgroup"):
            a += ["--cgroup", p["cgroup"]]
        return a, None

    def ask(self, argv):
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=20)
        except subprocess.TimeoutExpired:
            return None, "sendguard policy test: no answer in 20 s"
        out = p.stdout.decode("utf-8", "replace").strip()
        if p.returncode != 0:
            return None, (f"sendguard policy test exit {p.returncode}: "
                          f"{p.stderr.decode('utf-8', 'replace').strip()}")
        try:
            return json.loads(out), None
        except ValueError:
            return None, f"sendguard policy test printed {out!r}"


def show(argv):
    return " ".join(os.fsdecode(x) if isinstance(x, bytes) else x for x in argv[3:])


# --- groups that need no BPF --------------------------------------------------------

def run_check_tests(res, build, workdir):
    exe = os.path.join(build, "sendguardd")

    def check(name, path, patterns):
        if not res.wanted(name):
            return
        try:
            p = subprocess.run([exe, "-n", "-p", path], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
        except (OSError, subprocess.TimeoutExpired) as e:
            res.report(name, [f"sendguardd -n -p {path}: {e}"])
            return
        err = p.stderr.decode("utf-8", "replace")
        problems = []
        if p.returncode != 2:
            problems.append(f"exit status: expected 2, got {p.returncode} (stderr {err!r})")
        for pat in patterns:
            if pat not in err:
                problems.append(f"stderr lacks {pat!r}: {err!r}")
        res.report(name, problems)

    bad = os.path.join(workdir, "check-invalid.json")
    with open(bad, "w") as f:
        f.write('{"name": "bad", "default": "block", "rules": [\n'
                ' {"name": "a", "action": "deny", "match": {"dst": ["10.0.0.0/33"]}},\n'
                ' {"name": "b", "action": "allow", "match": {"flags_any": ["MSG_OOB", "MSG_FOO"],'
                ' "port": [70000]}},\n'
                ' {"name": "a", "action": "audit", "match": {"dstt": ["10.0.0.1"]}}\n]}\n')
    check("policy_check_invalid", bad, [
        'rules[0].match.dst[0]: "10.0.0.0/33": prefix length must be 0-32',
        'rules[1].match.flags_any[1]: "MSG_FOO": unknown flag name',
        'rules[1].match.port[0]: 70000: port out of range 0-65535',
        'rules[2].name: "a": duplicate rule name (first at rules[0])',
        'rules[2].match: unknown key "dstt"',
        'default: "block": unknown action (allow, deny, audit, kill)',
    ])
    missing = os.path.join(workdir, "no-such-policy.json")
    check("policy_check_missing", missing, [missing])


# --- groups with the daemon ------------------------------------------------------

def run_policy_files(res, build, workdir, env, R):
    exe = os.path.join(build, "sendguardd")
    if R.harness.SHARE_DAEMONS:
        return run_policy_files_shared(res, build, workdir, env, R)
    for path in sorted(glob.glob(os.path.join(ROOT, "policies", "*.json"))):
        base = os.path.basename(path)[:-5]
        name = "policy_file_" + base
        if not res.wanted(name):
            continue
        problems = []
        try:
            with open(path) as f:
                pol = json.load(f)
        except ValueError as e:
            res.report(name, [f"{path} is not JSON: {e}"])
            continue
        p = subprocess.run([exe, "-n", "-p", path], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
        if p.returncode != 0:
            problems.append(f"sendguardd -n -p {path}: exit {p.returncode}: "
                            f"{p.stderr.decode('utf-8', 'replace').strip()}")
        d = R.Daemon(build, workdir, "file-" + base, ["-p", path, "--stats-interval", "3600"])
        if not R.start_or_skip(res, d, [name], env["ci"]):
            continue
        tail = R.Tail(d.path)
        try:
            wait_until(tail, lambda: tail.count > 0, 5)
        finally:
            rc = d.stop()
        tail.finish()
        if rc != 0:
            problems.append(f"exit status after SIGTERM: expected 0, got {rc}; {d.tail()}")
        first = tail.kept[0] if tail.kept and tail.kept[0].get("seq") == 1 else None
        if first is None:
            problems.append("the first record (seq 1) is not the policy record"
                            + (f": {tail.kept[0]}" if tail.kept else ""))
        else:
            problems += loaded_record_problems(first, pol.get("name"), path, 1,
                                               len(pol.get("rules", [])),
                                               pol.get("default", "allow"))
        res.report(name, problems + list(tail.bad))


def run_policy_files_shared(res, build, workdir, env, R):
    """policy_file_NAME with one daemon for every file (make test-kernels): it starts with
    a copy of the first file, and each next file is written over that copy and loaded by
    SIGHUP. Each must give its "loaded" record: versions 1, 2, ..., the first at seq 1."""
    exe = os.path.join(build, "sendguardd")
    live = os.path.join(workdir, "policy-file.json")
    files, problems = [], {}
    for path in sorted(glob.glob(os.path.join(ROOT, "policies", "*.json"))):
        name = "policy_file_" + os.path.basename(path)[:-5]
        if not res.wanted(name):
            continue
        try:
            with open(path) as f:
                pol = json.load(f)
        except ValueError as e:
            res.report(name, [f"{path} is not JSON: {e}"])
            continue
        problems[name] = []
        p = subprocess.run([exe, "-n", "-p", path], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
        if p.returncode != 0:
            problems[name].append(f"sendguardd -n -p {path}: exit {p.returncode}: "
                                  f"{p.stderr.decode('utf-8', 'replace').strip()}")
        files.append((name, path, pol))
    if not files:
        return
    with open(files[0][1]) as f:
        write_text(live, f.read())
    d = R.Daemon(build, workdir, "files", ["-p", live, "--stats-interval", "3600"])
    if not R.start_or_skip(res, d, [name for name, _, _ in files], env["ci"]):
        return
    tail = R.Tail(d.path)
    try:
        for k, (name, path, _) in enumerate(files):
            if k:
                with open(path) as f:
                    write_text(live, f.read())
                d.proc.send_signal(1)  # SIGHUP
            if not wait_until(tail, lambda: len(policy_records(tail)) > k,
                              R.harness.scaled(30)):
                problems[name].append(f"no policy record within "
                                      f"{R.harness.scaled(30):.0f} s of "
                                      + ("SIGHUP" if k else "the start"))
                break
    finally:
        rc = d.stop()
    tail.finish()
    recs = policy_records(tail)
    for k, (name, path, pol) in enumerate(files):
        rec = recs[k] if k < len(recs) else None
        if k == 0 and rec is not None and rec.get("seq") != 1:
            problems[name].append(f"the first record (seq 1) is not the policy record: {rec}")
        if rc != 0:
            problems[name].append(f"exit status after SIGTERM: expected 0, got {rc}; "
                                  f"{d.tail()}")
        problems[name] += loaded_record_problems(rec, pol.get("name"), live, k + 1,
                                                 len(pol.get("rules", [])),
                                                 pol.get("default", "allow"))
        res.report(name, problems[name] + list(tail.bad))


def run_mix_group(res, build, workdir, env, R, validator):
    names = ["policy_mix_loaded", "policy_mix_fields", "policy_mix_verdicts",
             "policy_cli_agreement", "policy_stats_rule_hits"]
    if not any(res.wanted(n) for n in names):
        return
    pol = mix_policy(env["exe"], workdir)
    path = os.path.join(workdir, "mix.json")
    write_json(path, pol)
    os.environ["SG_POLICY_DIR"] = workdir
    # Judging only: deny verdicts must not block these sends (enforce.py tests blocking).
    d = R.Daemon(build, workdir, "mix", ["-p", path, "--stats-interval", "1", "--no-enforce"])
    if not R.start_or_skip(res, d, names, env["ci"]):
        return
    tail = R.Tail(d.path)
    tail.follow()
    t0 = time.time()
    stats_hits = None
    try:
        mix = R.Sender(build, tail, "policy_mix")
        others = [R.Sender(build, tail, s) for s in expect.SCENARIOS]
        stream = R.Sender(build, tail, "stream", str(STATS_PORT), str(STATS_MS))
        senders = [mix] + others
        for s in senders + [stream]:
            s.read()
        R.wait_for_events(tail, senders, R.EVENT_WAIT)
        if stream.info:
            want = stream.info["sent"]
            wait_until(tail, lambda: len(tail.sends(stream.pids())) >= want, R.EVENT_WAIT)
        for s in senders + [stream]:
            rc = s.finish()
            if s.info is not None and rc != 0:
                s.error = (f"sender {s.scenario} exit {rc}: problems "
                           f"{s.info.get('problems')} {s.err_text}")
        # A stats record written after all our events.
        n_sends = tail.sends_seen
        wait_until(tail, lambda: any(b >= n_sends for _, b in tail.stats_seen), 3.5)
    finally:
        rc = d.stop()
    tail.finish()
    t1 = time.time()
    stop_problems = [] if rc == 0 else [f"exit status after SIGTERM: expected 0, got {rc}; "
                                        f"{d.tail()}"]

    # policy_mix_loaded: the first record.
    first = tail.kept[0] if tail.kept and tail.kept[0].get("seq") == 1 else None
    p = stop_problems + list(tail.bad) + tail.seq_problems[:5] + schema_problems(validator, tail)
    if first is None:
        p.append("the first record (seq 1) is not the policy record")
    else:
        p += loaded_record_problems(first, MIX_NAME, path, 1, len(pol["rules"]), "audit")
    res.report("policy_mix_loaded", p)

    # policy_mix_fields: every field but policy, as in the main group.
    if mix.info is None or mix.error:
        for n in ("policy_mix_fields", "policy_mix_verdicts"):
            res.report(n, [mix.error or "sender policy_mix failed"])
    else:
        res.report("policy_mix_fields",
                   expect.check_scenario(mix.info, tail.sends(mix.pids()), env, (t0, t1),
                                         policy=expect.ANY))
        # policy_mix_verdicts: what the notes say, by hand.
        pairs, p = pair_events(mix.info, tail.sends(mix.pids()))
        for ev, got in pairs:
            rule, _, verdict = ev["note"].split(":")[0].partition("|")
            want = {"verdict": verdict, "rule": None if rule == "-" else rule,
                    "version": 1, "enforced_by": None}
            if got.get("policy") != want:
                p.append(f"{ev['note']} (seq {got.get('seq')}): policy expected "
                         f"{json.dumps(want)}, got {json.dumps(got.get('policy'))}")
        if len(pairs) < 30:
            p.append(f"only {len(pairs)} cases checked")
        res.report("policy_mix_verdicts", p)

    # policy_cli_agreement: every event of every sender against the CLI.
    p = []
    infos = [s.info for s in senders if s.info is not None]
    for s in senders:
        if s.info is None or s.error:
            p.append(s.error or f"sender {s.scenario} failed")
    cli = Cli(build, path, infos)
    jobs, skipped = [], {}
    for s in senders:
        if s.info is None:
            continue
        for ev in by_seq(tail.sends(s.pids())):
            pol_obj = ev.get("policy") or {}
            if pol_obj.get("version") != 1 or pol_obj.get("enforced_by") is not None:
                p.append(f"{s.scenario} seq {ev.get('seq')}: policy {json.dumps(pol_obj)}: "
                         "expected version 1 and enforced_by null")
            argv, why = cli.args(ev)
            if argv is None:
                skipped[why] = skipped.get(why, 0) + 1
                continue
            jobs.append((s.scenario, ev, argv))
    # Identical questions (e.g. the 1000 messages of mmsg_many) asked once.
    questions = sorted({tuple(j[2]) for j in jobs},
                       key=lambda t: [os.fsencode(x) for x in t])
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        asked = dict(zip(questions, ex.map(cli.ask, questions)))
    answers = [asked[tuple(j[2])] for j in jobs]
    verdicts = set()
    for (scen, ev, argv), (ans, err) in zip(jobs, answers):
        got = {"verdict": ev["policy"].get("verdict"), "rule": ev["policy"].get("rule")}
        verdicts.add((got["verdict"], got["rule"]))
        if err:
            p.append(f"{scen} seq {ev.get('seq')}: {err} ({show(argv)})")
        elif ans != got:
            p.append(f"{scen} seq {ev.get('seq')}: kernel {json.dumps(got)}, "
                     f"sendguard policy test {json.dumps(ans)} ({show(argv)})")
    if len(jobs) < 30:
        p.append(f"only {len(jobs)} events compared (skipped: {skipped})")
    if R.VERBOSE:
        print(f"# policy_cli_agreement: {len(jobs)} events compared "
              f"({len(questions)} distinct questions), "
              f"{len(verdicts)} distinct verdict/rule pairs, skipped {skipped}", flush=True)
    res.report("policy_cli_agreement", p)

    # policy_stats_rule_hits: the stream hit r-port-only N times.
    p = []
    if stream.info is None or stream.error:
        p.append(stream.error or "sender stream failed")
    else:
        ours = tail.sends(stream.pids())
        n = sum(1 for e in ours if (e.get("policy") or {}).get("rule") == "r-port-only")
        if n != stream.info["sent"]:
            p.append(f"stream of {stream.info['sent']} sends to port {STATS_PORT}: "
                     f"{n} events with rule r-port-only (of {len(ours)})")
        # Every rule: at least our own events of it (all senders).
        mine = {}
        n_default = 0
        for s in senders + [stream]:
            for e in tail.sends(s.pids()):
                rule = (e.get("policy") or {}).get("rule")
                if rule is None:
                    n_default += 1
                else:
                    mine[rule] = mine.get(rule, 0) + 1
        last = [r for r, before in tail.stats_seen if before >= n_sends]
        if not last:
            p.append("no stats record after our sends (--stats-interval 1)")
        else:
            st = last[0]
            rules = st.get("rules")
            if not isinstance(rules, dict):
                p.append(f"stats seq {st.get('seq')}: rules is {rules!r}")
            else:
                for rn in [r["name"] for r in pol["rules"]]:
                    if not isinstance(rules.get(rn), int):
                        p.append(f"stats seq {st.get('seq')}: rules[{rn}] is "
                                 f"{rules.get(rn)!r}, expected an integer")
                    elif rules[rn] < mine.get(rn, 0):
                        p.append(f"stats seq {st.get('seq')}: rules[{rn}] = {rules[rn]} < "
                                 f"{mine.get(rn, 0)} of our events with that rule")
                for rn in rules:
                    if rn not in mine and rn not in [r["name"] for r in pol["rules"]]:
                        p.append(f"stats seq {st.get('seq')}: rules has unknown rule {rn!r}")
            dflt = st.get("default")
            if not isinstance(dflt, int) or dflt < n_default:
                p.append(f"stats seq {st.get('seq')}: default = {dflt!r}, expected >= "
                         f"{n_default} (our events judged by the default)")
    res.report("policy_stats_rule_hits", p)


def run_kill_group(res, build, workdir, env, R):
    name = "policy_kill_signal"
    if not res.wanted(name):
        return
    pol = {"name": "sendguard-it-kill", "default": "allow", "rules": [
        {"name": "r-kill", "action": "kill",
         "match": {"dst": [f"127.0.0.1:{KILL_PORT}"], "exe": [env["exe"]], "comm": ["sender"]}},
        {"name": "r-sibling", "action": "audit",
         "match": {"dst": [f"127.0.0.1:{SIBLING_PORT}"], "exe": [env["exe"]]}},
    ]}
    path = os.path.join(workdir, "kill.json")
    write_json(path, pol)
    d = R.Daemon(build, workdir, "kill", ["-p", path, "--stats-interval", "3600"])
    if not R.start_or_skip(res, d, [name], env["ci"]):
        return
    tail = R.Tail(d.path)
    tail.follow()
    p = []
    try:
        s = R.Sender(build, tail, "kill_pair")
        info = s.read(20)
        if info is not None:
            kids = {info["victim"], info["sibling"], info["forger"], info["writer"]}
            wait_until(tail, lambda: len(tail.sends(kids)) >= 4, R.EVENT_WAIT)
        rc_s = s.finish()
    finally:
        rc = d.stop()
    tail.finish()
    if rc != 0:
        p.append(f"exit status after SIGTERM: expected 0, got {rc}; {d.tail()}")
    if info is None:
        res.report(name, p + [s.error])
        return
    if rc_s != 0:
        p.append(f"sender kill_pair exit {rc_s}: {info.get('problems')} {s.err_text}")
    vs, ss = info["victim_status"], info["sibling_status"]
    if not (os.WIFSIGNALED(vs) and os.WTERMSIG(vs) == 9):
        p.append(f"the child sending to 127.0.0.1:{KILL_PORT} (pid {info['victim']}) was not "
                 f"killed by SIGKILL: wait status {vs:#x} "
                 + (f"(exit {os.WEXITSTATUS(vs)})" if os.WIFEXITED(vs) else
                    f"(signal {os.WTERMSIG(vs)})" if os.WIFSIGNALED(vs) else ""))
    if not (os.WIFEXITED(ss) and os.WEXITSTATUS(ss) == 0):
        p.append(f"the sibling sending to 127.0.0.1:{SIBLING_PORT} (pid {info['sibling']}) "
                 f"did not exit 0: wait status {ss:#x}")
    fs = info["forger_status"]
    if not (os.WIFSIGNALED(fs) and os.WTERMSIG(fs) == 9):
        p.append(f"the child connected by TCP to 127.0.0.1:{KILL_PORT} that sent with the "
                 f"forged destination 127.0.0.1:{SIBLING_PORT} (pid {info['forger']}) was not "
                 f"killed by SIGKILL: wait status {fs:#x}")
    ws = info["writer_status"]
    if not (os.WIFSIGNALED(ws) and os.WTERMSIG(ws) == 9):
        p.append(f"the child that sent to 127.0.0.1:{KILL_PORT} with write() on a connected UDP "
                 f"socket (pid {info['writer']}) was not killed by SIGKILL: wait status {ws:#x}")
    for pid, port, want in (
            (info["victim"], KILL_PORT,
             {"verdict": "kill", "rule": "r-kill", "version": 1, "enforced_by": "signal"}),
            (info["sibling"], SIBLING_PORT,
             {"verdict": "audit", "rule": "r-sibling", "version": 1, "enforced_by": None}),
            (info["forger"], KILL_PORT,
             {"verdict": "kill", "rule": "r-kill", "version": 1, "enforced_by": "signal"}),
            (info["writer"], KILL_PORT,
             {"verdict": "kill", "rule": "r-kill", "version": 1, "enforced_by": "signal"})):
        evs = tail.sends({pid})
        if len(evs) != 1:
            p.append(f"pid {pid}: expected 1 send event, got {len(evs)}")
            continue
        e = evs[0]
        dst = e.get("dst") or {}
        if (dst.get("addr"), dst.get("port")) != ("127.0.0.1", port):
            p.append(f"pid {pid} seq {e.get('seq')}: dst {json.dumps(dst)}, expected "
                     f"127.0.0.1:{port}")
        if pid == info["writer"] and e.get("syscall") != "write":
            p.append(f"pid {pid} seq {e.get('seq')}: syscall {e.get('syscall')}, expected write")
        if pid == info["forger"] and e.get("dst_source") != "peer":
            p.append(f"pid {pid} seq {e.get('seq')}: dst_source {e.get('dst_source')}, "
                     "expected peer (a connected TCP socket sends to its peer)")
        if e.get("ret") != e.get("len") or e.get("errno") is not None:
            # kill is after the fact: the send itself went through.
            p.append(f"pid {pid} seq {e.get('seq')}: ret {e.get('ret')} errno "
                     f"{e.get('errno')}, expected ret {e.get('len')} errno null")
        if e.get("policy") != want:
            p.append(f"pid {pid} (to port {port}) seq {e.get('seq')}: policy expected "
                     f"{json.dumps(want)}, got {json.dumps(e.get('policy'))}")
    res.report(name, p + list(tail.bad))


def run_reload_group(res, build, workdir, env, R, validator):
    names = ["policy_reload_stream", "policy_reload_refused"]
    if not any(res.wanted(n) for n in names):
        return
    path = os.path.join(workdir, "reload.json")
    match = {"dst": [f"127.0.0.1:{RELOAD_PORT}"], "exe": [env["exe"]]}
    pol_a = {"name": "sendguard-it-a", "default": "allow",
             "rules": [{"name": "r-a", "action": "audit", "match": match}]}
    pol_b = {"name": "sendguard-it-b", "default": "allow",
             "rules": [{"name": "r-b", "action": "deny", "match": match}]}
    # Same name as B, so the refused record's name is unambiguous.
    invalid = ('{"name": "sendguard-it-b", "default": "block", "rules": [\n'
               ' {"name": "r-b", "action": "deny", "match": {"dst": ["10.0.0.0/33"],'
               ' "flags_any": ["MSG_FOO"]}}\n]}\n')
    want_errors = ['rules[0].match.dst[0]: "10.0.0.0/33": prefix length must be 0-32',
                   'rules[0].match.flags_any[0]: "MSG_FOO": unknown flag name',
                   'default: "block": unknown action (allow, deny, audit, kill)']
    write_json(path, pol_a)
    d = R.Daemon(build, workdir, "reload", ["-p", path, "--stats-interval", "3600",
                                            "--no-enforce"])
    if not R.start_or_skip(res, d, names, env["ci"]):
        return
    tail = R.Tail(d.path)
    tail.follow()
    p1, p2 = [], []
    s1 = s2 = None
    try:
        s1 = R.Sender(build, tail, "stream", str(RELOAD_PORT), str(RELOAD_MS))
        # Reload while it streams: wait for its first events (however slow the machine:
        # make test-kernels runs in an emulated guest), then a while.
        if not wait_until(tail, lambda: len(tail.sends({s1.proc.pid})) >= 20, 60):
            p1.append("the stream's first 20 events did not come within 60 s")
        time.sleep(0.4)
        write_json(path, pol_b)
        d.proc.send_signal(1)  # SIGHUP
        if not wait_until(tail, lambda: len(policy_records(tail, "loaded")) >= 2, 30):
            p1.append("no second \"loaded\" policy record within 30 s of SIGHUP")
        # Version 2 judges the stream: 20 of its events, and the stream may end (it runs
        # RELOAD_MS at most, long enough for a slow reload in an emulated guest).
        elif wait_until(tail, lambda: sum(
                1 for e in tail.sends({s1.proc.pid})
                if (e.get("policy") or {}).get("version") == 2) >= 20, RELOAD_MS / 1000):
            s1.proc.send_signal(signal.SIGUSR1)
        s1.read(RELOAD_MS / 1000 + 20)
        if s1.info:
            wait_until(tail, lambda: len(tail.sends(s1.pids())) >= s1.info["sent"],
                       R.EVENT_WAIT)
        if s1.finish() != 0 and s1.info is not None:
            p1.append(f"sender stream exit {s1.proc.returncode}: {s1.err_text}")

        # An invalid file: refused, version 2 stays.
        write_text(path, invalid)
        d.proc.send_signal(1)
        if not wait_until(tail, lambda: policy_records(tail, "refused"), 30):
            p2.append("no \"refused\" policy record within 30 s of SIGHUP with an invalid file")
        s2 = R.Sender(build, tail, "stream", str(RELOAD_PORT), "200")
        s2.read(20)
        if s2.info:
            wait_until(tail, lambda: len(tail.sends(s2.pids())) >= s2.info["sent"],
                       R.EVENT_WAIT)
        s2.finish()
        alive = d.proc.poll() is None
    finally:
        rc = d.stop()
    tail.finish()
    common = list(tail.bad) + tail.seq_problems[:5]
    if rc != 0:
        common.append(f"exit status after SIGTERM: expected 0, got {rc}; {d.tail()}")
    lost = tail.lost_count()
    loaded = policy_records(tail, "loaded")

    # policy_reload_stream
    p = p1 + common
    if s1.info is None:
        p.append(s1.error or "sender stream failed")
    else:
        evs = by_seq(tail.sends(s1.pids()))
        if len(evs) + lost < s1.info["sent"]:
            p.append(f"{len(evs)} events (+{lost} lost) for {s1.info['sent']} sends")
        ok = {(1, "r-a", "audit"), (2, "r-b", "deny")}
        prev, v1, v2 = 0, [], []
        for e in evs:
            pol = e.get("policy") or {}
            key = (pol.get("version"), pol.get("rule"), pol.get("verdict"))
            if key not in ok or pol.get("enforced_by") is not None:
                if len(p) < 20:
                    p.append(f"seq {e.get('seq')}: policy {json.dumps(pol)}: expected version 1 "
                             "rule r-a audit or version 2 rule r-b deny, enforced_by null")
                continue
            if key[0] < prev:
                p.append(f"seq {e.get('seq')}: version {key[0]} after version {prev}")
            prev = max(prev, key[0])
            (v1 if key[0] == 1 else v2).append(e["seq"])
        if not v1 or not v2:
            p.append(f"versions seen: {len(v1)} events of version 1, {len(v2)} of version 2 "
                     "(both expected)")
        l2 = [r for r in loaded if r.get("version") == 2]
        if len(loaded) != 2 or not l2:
            got = [(r.get("seq"), r.get("version")) for r in loaded]
            p.append(f"\"loaded\" policy records (seq, version): {got}, expected versions 1 and 2")
        else:
            p += loaded_record_problems(loaded[0], "sendguard-it-a", path, 1, 1, "allow")
            p += loaded_record_problems(l2[0], "sendguard-it-b", path, 2, 1, "allow")
            s = l2[0]["seq"]
            if v1 and v2 and not max(v1) < s < min(v2):
                late = sum(1 for x in v1 if x > s)
                early = sum(1 for x in v2 if x < s)
                p.append(f"the \"loaded\" record of version 2 (seq {s}) is not between the "
                         f"version 1 events (seq {min(v1)}-{max(v1)}) and the version 2 events "
                         f"(seq {min(v2)}-{max(v2)}): {late} version-1 events after it, "
                         f"{early} version-2 events before it")
    res.report("policy_reload_stream", p)

    # policy_reload_refused
    p = p2 + common + schema_problems(validator, tail, sends_max=4000)
    ref = policy_records(tail, "refused")
    if ref:
        r = ref[0]
        for k, v in (("result", "refused"), ("source", path), ("name", "sendguard-it-b"),
                     ("version", 2), ("rules", 1)):
            if r.get(k) != v:
                p.append(f"refused record seq {r.get('seq')}: {k}: expected {json.dumps(v)}, "
                         f"got {json.dumps(r.get(k))}")
        if "default" not in r:
            p.append(f"refused record seq {r.get('seq')}: no \"default\"")
        errs = r.get("errors")
        if not isinstance(errs, list):
            p.append(f"refused record: errors is {errs!r}")
        else:
            for w in want_errors:
                if w not in errs:
                    p.append(f"refused record: errors lack {w!r}: {errs}")
        for w in want_errors:
            if not any(w in line for line in d.log):
                p.append(f"the daemon's log lacks {w!r}")
        if len(loaded) > 2:
            p.append(f"a \"loaded\" record after the invalid file: {loaded[2]}")
    if not alive:
        p.append("the daemon exited after SIGHUP with an invalid file")
    if s2 is None or s2.info is None:
        p.append((s2.error if s2 else None) or "sender stream (after the refusal) failed")
    else:
        evs = tail.sends(s2.pids())
        if not evs:
            p.append("no events of the sends after the refusal")
        want = {"verdict": "deny", "rule": "r-b", "version": 2, "enforced_by": None}
        bad = [e for e in evs if e.get("policy") != want]
        if bad:
            p.append(f"{len(bad)} of {len(evs)} sends after the refusal not judged by version "
                     f"2: e.g. seq {bad[0].get('seq')} policy {json.dumps(bad[0].get('policy'))}")
        if ref and evs and min(e["seq"] for e in evs) < ref[0]["seq"]:
            p.append("sends started after the refused record appear before it")
    res.report("policy_reload_refused", p)


def schema_problems(validator, tail, sends_max=None):
    """The records kept (policy, stats, lost, our sends) against the schema; with
    sends_max, every record that is not a send and the first and last sends_max/2 sends
    (a long stream of sends alike: in an emulated guest checking them all takes minutes)."""
    if validator is None:
        return []
    kept = tail.kept
    if sends_max is not None:
        sends = [r for r in kept if r.get("type") == "send"]
        if len(sends) > sends_max:
            half = sends_max // 2
            sample = {id(r) for r in sends[:half] + sends[-half:]}
            kept = [r for r in kept if r.get("type") != "send" or id(r) in sample]
    return validator.check_all(kept)


def run_bpf_tests(res, build, workdir, env, R, validator=None):
    """R: the run.py module (Daemon, Tail, Sender, ...); validator: the
    event schema's (records kept are checked against it)."""
    run_policy_files(res, build, workdir, env, R)
    run_mix_group(res, build, workdir, env, R, validator)
    run_kill_group(res, build, workdir, env, R)
    run_reload_group(res, build, workdir, env, R, validator)
