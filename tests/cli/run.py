#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""CLI tests for `sendguard policy check` and `sendguard policy test`.

Usage: tests/cli/run.py [--build DIR] [-k REGEX] [--only NAME,...]   (default: build)
Runs build/sendguard offline (no root, no daemon) and ends with the line
"N passed, N failed"; exit status 1 if anything failed. A relative DIR is taken
from the top of the repository.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402  (tests/integration/harness.py)

POL = os.path.join(ROOT, "policies")

suite = harness.Suite(__doc__)
cli = None  # harness.Cli of BUILD/sendguard, set by main()
tmpdir = None


def run(*args):
    return cli.run(*args)


def check(res, name, cond, detail=""):
    res.report(name, [] if cond else [detail or "failed"])


def write(name, text):
    path = os.path.join(tmpdir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def expect(res, name, args, rc, stdout=None, stderr=None):
    if not res.wanted(name):
        return None
    got = run(*args)
    ok = got[0] == rc
    if stdout is not None:
        ok = ok and got[1] == stdout
    if stderr is not None:
        ok = ok and got[2] == stderr
    check(res, name, ok, f"args: {args}\nwant rc={rc} stdout={stdout!r} stderr={stderr!r}\n"
                         f"got  rc={got[0]} stdout={got[1]!r} stderr={got[2]!r}")
    return got


def bad_policy():
    """An invalid policy with one error of each kind, and what check says of it."""
    path = os.path.join(tmpdir, "bad.json")
    if not os.path.exists(path):
        write("bad.json", BAD_POLICY)
    return path, BAD_ERRORS.format(bad=path)


BAD_POLICY = """{
  "name": "bad",
  "default": "block",
  "rules": [
    {"name": "a", "action": "deny", "match": {"dst": ["10.0.0.0/33"]}},
    {"name": "dns", "action": "deny", "match": {"flags_any": ["MSG_OOB", "MSG_FOO"]}},
    {"name": "dns", "action": "allow", "match": {"port": [70000, "2000-1000"], "uid": []}},
    {"name": "d", "action": 1, "match": {"dstt": ["1.2.3.4"]}}
  ]
}
"""
BAD_ERRORS = (
    'default: "block": unknown action (allow, deny, audit, kill)\n'
    'rules[0].match.dst[0]: "10.0.0.0/33": prefix length must be 0-32\n'
    'rules[1].match.flags_any[1]: "MSG_FOO": unknown flag name\n'
    'rules[2].match.port[0]: 70000: port out of range 0-65535\n'
    'rules[2].match.port[1]: "2000-1000": range start after end\n'
    'rules[2].match.uid: empty list\n'
    'rules[2].name: "dns": duplicate rule name (first at rules[1])\n'
    'rules[3].action: expected a string\n'
    'rules[3].match: unknown key "dstt"\n'
    '{bad}: invalid (9 errors)\n')


def spec_policy():
    """The policy the verdict tables judge with."""
    path = os.path.join(tmpdir, "spec.json")
    if os.path.exists(path):
        return path
    spec = write("spec.json", json.dumps({
        "name": "web-frontend",
        "default": "allow",
        "rules": [
            {"name": "no-oob", "action": "deny", "match": {"flags_any": ["MSG_OOB"]}},
            {"name": "dns", "action": "allow",
             "match": {"protocol": ["udp"], "dst": ["10.0.0.53:53", "[::1]:53"]}},
            {"name": "docker-api", "action": "audit", "match": {"unix": ["/run/docker.sock"]}},
            {"name": "no-fd-pass", "action": "deny",
             "match": {"cmsg": ["SCM_RIGHTS"], "comm": ["worker"]}},
            {"name": "egress", "action": "deny", "match": {"dst": ["0.0.0.0/0", "::/0"], "uid": [1000]}},
            {"name": "big", "action": "kill", "match": {"len_min": 1000000, "cgroup": ["/evil"]}},
        ]}))
    return spec


# --- policy check -------------------------------------------------------------

@suite.test()  # check FILE: one per shipped policy
def check_shipped(res, ctx):
    for f in sorted(os.listdir(POL)):
        if not f.endswith(".json"):
            continue
        path = os.path.join(POL, f)
        with open(path) as fh:
            doc = json.load(fh)
        n = len(doc.get("rules", []))
        expect(res, f"check {f}", ["policy", "check", path], 0,
               stdout=f"{path}: valid (name {doc['name']}, {n} rule{'' if n == 1 else 's'}, "
                      f"default {doc.get('default', 'allow')})\n", stderr="")


@suite.test("check invalid: every error by path", "check -j invalid", "check -j valid")
def check_invalid(res, ctx):
    bad, want_err = bad_policy()
    expect(res, "check invalid: every error by path", ["policy", "check", bad], 1,
           stdout="", stderr=want_err)

    rc, out, err = run("policy", "check", "-j", bad)
    try:
        doc = json.loads(out)
        ok = rc == 1 and doc["valid"] is False and doc["errors"] == want_err.splitlines()[:-1] \
            and doc["file"] == bad
    except (ValueError, KeyError):
        ok = False
    check(res, "check -j invalid", ok, f"rc={rc} out={out!r}")

    rc, out, err = run("policy", "check", os.path.join(POL, "no-oob.json"), "--json")
    try:
        ok = rc == 0 and json.loads(out) == {"file": os.path.join(POL, "no-oob.json"),
                                             "valid": True, "name": "no-oob", "rules": 1,
                                             "default": "allow"}
    except ValueError:
        ok = False
    check(res, "check -j valid", ok, f"rc={rc} out={out!r}")


@suite.test("check missing file", "check a FIFO", "test a FIFO", "check a directory",
            "test a directory")
def check_not_regular(res, ctx):
    expect(res, "check missing file", ["policy", "check", "/nonexistent/p.json"], 1, stdout="",
           stderr="/nonexistent/p.json: cannot open: No such file or directory\n")
    # Policy files must be regular files: a FIFO is refused at once (reading it would wait
    # for a writer), a directory too, each with the reason.
    fifo = os.path.join(tmpdir, "fifo.json")
    os.mkfifo(fifo)
    os.mkdir(os.path.join(tmpdir, "dir.json"))
    dirpath = os.path.join(tmpdir, "dir.json")
    for what, path, want in (("FIFO", fifo,
                              f"{fifo}: not a regular file (a FIFO)\n{fifo}: invalid (1 error)\n"),
                             ("directory", dirpath, f"{dirpath}: cannot read: Is a directory\n")):
        for cmd in (["policy", "check", path], ["policy", "test", path, "--dst", "10.0.0.1:53"]):
            try:
                expect(res, f"{cmd[1]} a {what}", cmd, 1, stdout="", stderr=want)
            except subprocess.TimeoutExpired:
                check(res, f"{cmd[1]} a {what}", False,
                      "still running after 30 s (blocked on the open)")


@suite.test("check trailing garbage", "check duplicate key", "check non-object")
def check_not_a_policy(res, ctx):
    notjson = write("notjson.json", '{"rules": []} trailing\n')
    expect(res, "check trailing garbage", ["policy", "check", notjson], 1, stdout="",
           stderr=f"{notjson}: not JSON: trailing garbage after the JSON value at line 1, "
                  f"column 15\n{notjson}: invalid (1 error)\n")
    dup = write("dup.json", '{"default": "deny", "default": "allow"}')
    expect(res, "check duplicate key", ["policy", "check", dup], 1, stdout="",
           stderr=f'{dup}: duplicate key "default"\n{dup}: invalid (1 error)\n')
    top = write("top.json", '[]')
    expect(res, "check non-object", ["policy", "check", top], 1,
           stderr=f"{top}: expected an object at the top level\n{top}: invalid (1 error)\n")


@suite.test("check without FILE", "check bad option", "unknown command",
            "unknown policy command", "--help lists the commands",
            "policy test --help documents defaults")
def usage(res, ctx):
    bad, _ = bad_policy()
    expect(res, "check without FILE", ["policy", "check"], 2,
           stderr="sendguard: policy check: missing FILE\n")
    expect(res, "check bad option", ["policy", "check", "-x", bad], 2,
           stderr="sendguard: policy check: unknown option '-x'\n")
    expect(res, "unknown command", ["frobnicate"], 2,
           stderr="sendguard: unknown command 'frobnicate' (see 'sendguard --help')\n")
    expect(res, "unknown policy command", ["policy", "frob"], 2,
           stderr="sendguard: unknown policy command 'frob' (see 'sendguard policy --help')\n")
    rc, out, _ = run("--help")
    check(res, "--help lists the commands",
          rc == 0 and "policy check" in out and "policy test" in out)
    rc, out, _ = run("policy", "test", "--help")
    check(res, "policy test --help documents defaults", rc == 0 and "[sendto]" in out)


# --- policy test --------------------------------------------------------------

TESTS = [
    # (args, text output)
    (["--flags", "MSG_OOB"], "deny (rule no-oob)"),
    (["--flags", "MSG_DONTWAIT,MSG_OOB", "--dst", "10.0.0.53:53"], "deny (rule no-oob)"),
    ([], "allow (default)"),
    (["--dst", "10.0.0.53:53"], "allow (rule dns)"),
    (["--dst", "10.0.0.53:53", "--protocol", "tcp"], "allow (default)"),
    (["--dst", "[::1]:53"], "allow (rule dns)"),
    (["--dst", "[::ffff:10.0.0.53]:53"], "allow (rule dns)"),
    (["--unix", "/run/docker.sock"], "audit (rule docker-api)"),
    (["--unix", "@/run/docker.sock"], "allow (default)"),
    (["--unix", "/run/x", "--cmsg", "SCM_RIGHTS", "--comm", "worker"], "deny (rule no-fd-pass)"),
    (["--unix", "/run/x", "--cmsg", "SCM_RIGHTS", "--comm", "other"], "allow (default)"),
    (["--dst", "8.8.8.8:443", "--uid", "1000"], "deny (rule egress)"),
    (["--dst", "2001:db8::1", "--uid", "1000"], "deny (rule egress)"),
    (["--dst", "8.8.8.8:443", "--uid", "1001"], "allow (default)"),
    (["--unix", "/x", "--uid", "1000"], "allow (default)"),
    (["--len", "1000000", "--cgroup", "/evil/child"], "kill (rule big)"),
    (["--len", "1000000", "--cgroup", "/evildoer"], "allow (default)"),
    (["--len", "999999", "--cgroup", "/evil"], "allow (default)"),
]


@suite.test()  # test ARGS: one per row of TESTS
def test_verdicts(res, ctx):
    spec = spec_policy()
    for args, want in TESTS:
        expect(res, "test " + " ".join(args), ["policy", "test", spec, *args], 0,
               stdout=want + "\n", stderr="")


@suite.test("test -j rule", "test -j default", "test global -j")
def test_json(res, ctx):
    spec = spec_policy()
    expect(res, "test -j rule", ["policy", "test", "-j", spec, "--flags", "MSG_OOB"], 0,
           stdout='{"verdict":"deny","rule":"no-oob"}\n')
    expect(res, "test -j default", ["policy", "test", spec, "--json"], 0,
           stdout='{"verdict":"allow","rule":null}\n')
    expect(res, "test global -j", ["-j", "policy", "test", spec, "--unix", "/run/docker.sock"],
           0, stdout='{"verdict":"audit","rule":"docker-api"}\n')


@suite.test("test --exe matches by inode", "test --exe other file")
def test_exe(res, ctx):
    # exe: matched by device and inode of the file named in the policy
    exe_pol = write("exe.json", json.dumps({"rules": [
        {"name": "python", "action": "deny",
         "match": {"exe": [os.path.realpath(sys.executable)]}},
        {"name": "gone", "action": "deny", "match": {"exe": ["/nonexistent/bin"]}}]}))
    rc, out, err = run("policy", "test", exe_pol, "--exe", sys.executable)
    check(res, "test --exe matches by inode", rc == 0 and out == "deny (rule python)\n" and
          'warning: rules[1].match.exe[0]: "/nonexistent/bin": cannot stat' in err,
          f"rc={rc} out={out!r} err={err!r}")
    expect(res, "test --exe other file", ["policy", "test", exe_pol, "--exe", "/bin/sh"], 0,
           stdout="allow (default)\n")


# the shipped policies judge as their names say
SHIPPED = [
    ("dns-only-client.json", ["--dst", "10.0.0.53:53"], "allow (rule dns-resolvers)"),
    ("dns-only-client.json", ["--dst", "10.0.0.53:53", "--protocol", "tcp"],
     "allow (rule dns-resolvers)"),
    ("dns-only-client.json", ["--dst", "10.0.0.53:443"], "deny (default)"),
    ("dns-only-client.json", ["--dst", "127.0.0.1:8080"], "allow (rule loopback-v4)"),
    ("dns-only-client.json", ["--dst", "1.1.1.1:53"], "deny (default)"),
    ("no-fd-passing.json", ["--unix", "/run/x", "--cmsg", "SCM_RIGHTS"], "deny (rule no-fd-pass)"),
    ("no-fd-passing.json", ["--unix", "/run/systemd/journal/socket", "--cmsg", "SCM_RIGHTS"],
     "allow (rule fd-pass-to-journald)"),
    ("no-fd-passing.json", ["--unix", "/run/x", "--cmsg", "SCM_CREDENTIALS"], "allow (default)"),
    ("no-oob.json", ["--flags", "MSG_OOB", "--protocol", "tcp"], "deny (rule no-oob)"),
    ("observe.json", ["--flags", "MSG_OOB"], "allow (default)"),
    ("private-egress-only.json", ["--dst", "192.168.1.1:80"], "allow (rule rfc1918)"),
    ("private-egress-only.json", ["--dst", "172.15.255.255:80"], "deny (default)"),
    ("private-egress-only.json", ["--dst", "[fd12::1]:80"], "allow (rule ipv6-ula)"),
    ("private-egress-only.json", ["--dst", "[2606:4700::1111]:443"], "deny (default)"),
    ("private-egress-only.json", ["--unix", "@x"], "allow (rule unix)"),
]


@suite.test()  # FILE ARGS: one per row of SHIPPED
def shipped_verdicts(res, ctx):
    for f, args, want in SHIPPED:
        expect(res, f"{f} " + " ".join(args), ["policy", "test", os.path.join(POL, f), *args],
               0, stdout=want + "\n")


# bad arguments: exit 2, the message names the argument
BAD = [
    (["--dst", "1.2.3.4:99999"], "sendguard: --dst: '1.2.3.4:99999': port must be 0-65535"),
    (["--dst", "1.2.3"], "sendguard: --dst: '1.2.3': invalid IPv4 address"),
    (["--dst", "[::1"], "sendguard: --dst: '[::1': missing ']'"),
    (["--unix", "rel"], "sendguard: --unix: 'rel': expected an absolute path or @name"),
    (["--dst", "1.2.3.4", "--unix", "/x"], "sendguard: --dst and --unix exclude each other"),
    (["--flags", "MSG_OOB,MSG_FOO"], "sendguard: --flags: 'MSG_FOO': unknown flag name"),
    (["--syscall", "send"],
     "sendguard: --syscall: 'send': unknown syscall (sendto, sendmsg, sendmmsg, connect)"),
    (["--family", "inet4"], "sendguard: --family: 'inet4': unknown family"),
    (["--type", "STREAM"], "sendguard: --type: 'STREAM': unknown socket type"),
    (["--protocol", "tcpp"], "sendguard: --protocol: 'tcpp': unknown protocol"),
    (["--len", "-1"], "sendguard: --len: '-1': expected a byte count"),
    (["--uid", "4294967296"], "sendguard: --uid: '4294967296': expected a number 0-4294967295"),
    (["--comm", "0123456789abcdef"], "sendguard: --comm: '0123456789abcdef': expected 1-15 bytes"),
    (["--cgroup", "x"], "sendguard: --cgroup: 'x': expected an absolute cgroup path"),
    (["--exe", "/nonexistent/x"],
     "sendguard: --exe: '/nonexistent/x': cannot stat: No such file or directory"),
    (["--bogus"], "sendguard: policy test: unknown option '--bogus'"),
    (["--dst"], "sendguard: policy test: option '--dst' needs a value"),
    (["extra"], "sendguard: policy test: one FILE only (unexpected 'extra')"),
]


@suite.test()  # bad ARGS: one per row of BAD, and two more
def bad_arguments(res, ctx):
    spec = spec_policy()
    bad, want_err = bad_policy()
    for args, msg in BAD:
        expect(res, "bad " + " ".join(args), ["policy", "test", spec, *args], 2, stdout="",
               stderr=msg + "\n")
    expect(res, "test without FILE", ["policy", "test"], 2,
           stderr="sendguard: policy test: missing FILE\n")
    expect(res, "test invalid policy", ["policy", "test", bad, "--flags", "MSG_OOB"], 1,
           stdout="", stderr=want_err)


# --- -V: one version for the CLI and the daemon ------------------------------

@suite.test("version: sendguard -V and sendguardd -V agree")
def version(res, ctx):
    sgd = os.path.join(os.path.dirname(cli.path), "sendguardd")
    cli_v = subprocess.run([cli.path, "-V"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
    daemon_v = subprocess.run([sgd, "-V"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=30)
    cli_words = cli_v.stdout.decode().split()
    daemon_words = daemon_v.stdout.decode().split()
    check(res, "version: sendguard -V and sendguardd -V agree",
          cli_v.returncode == 0 and daemon_v.returncode == 0 and len(cli_words) == 2 and
          len(daemon_words) == 2 and cli_words[0] == "sendguard" and
          daemon_words[0] == "sendguardd" and cli_words[1] == daemon_words[1],
          f"sendguard -V: rc {cli_v.returncode} {cli_v.stdout!r}; "
          f"sendguardd -V: rc {daemon_v.returncode} {daemon_v.stdout!r}")


def main():
    global cli, tmpdir
    args, res = suite.parse()
    build = args.build if os.path.isabs(args.build) else os.path.join(ROOT, args.build)
    cli = harness.Cli(os.path.join(build, "sendguard"), timeout=30)
    tmpdir = tempfile.mkdtemp(prefix="sg-cli-")
    try:
        return suite.main()
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
