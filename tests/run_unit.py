#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Run the cmocka unit test binaries given on the command line.

Shows each binary's output, then one line "N passed, N failed" summing the
cmocka test counts. A binary that crashes, hangs or exits non-zero without
reporting a failure counts as one more failure, and so does one that ASan,
UBSan or the leak checker stopped (make builds them with
-fsanitize=address,undefined; the failure line names the sanitizer). No
binaries at all is a failure too. Exit status 1 if anything failed.

The binaries may append the JSON records they produce to the file named by
SG_UNIT_JSONL; every such record is then validated against
docs/event.schema.json (one extra test, "event schema"), when python3-jsonschema
is installed.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA = os.path.join(ROOT, "docs", "event.schema.json")
TIMEOUT = 120

PASSED_RE = re.compile(r"^\[  PASSED  \] (\d+) test", re.M)
FAILED_RE = re.compile(r"^\[  FAILED  \] (\d+) test", re.M)
OK_RE = re.compile(r"^\[       OK \] ", re.M)
SAN_RE = re.compile(r"^==\d+==ERROR: (\w+Sanitizer)|^\S+: runtime error: ", re.M)


def sanitizer(out):
    """", AddressSanitizer report" (or UBSan's, the leak checker's) if out has one."""
    m = SAN_RE.search(out)
    if m is None:
        return ""
    return ", %s report" % (m.group(1) or "UndefinedBehaviorSanitizer")


def run_one(path, env):
    name = os.path.basename(path)
    print(f"=== {name}", flush=True)
    try:
        proc = subprocess.run([path], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=TIMEOUT)
        out = proc.stdout.decode("utf-8", "replace")
        rc = proc.returncode
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode("utf-8", "replace")
        out += f"\n{name}: timed out after {TIMEOUT} s\n"
        rc = None
    except OSError as exc:
        print(f"{name}: cannot run: {exc}")
        return 0, 1
    sys.stdout.write(out)
    if out and not out.endswith("\n"):
        sys.stdout.write("\n")

    m_pass = PASSED_RE.search(out)
    m_fail = FAILED_RE.search(out)
    if m_pass is None and m_fail is None:
        # no summary: crashed or hung mid-run; count what completed
        passed = len(OK_RE.findall(out))
        why = "timed out" if rc is None else f"exit status {rc}{sanitizer(out)}"
        print(f"{name}: no cmocka summary ({why}): counted as failed")
        return passed, 1
    passed = int(m_pass.group(1)) if m_pass else 0
    failed = int(m_fail.group(1)) if m_fail else 0
    if rc != 0 and failed == 0:
        print(f"{name}: exit status {rc}{sanitizer(out)}, no test reported failing: "
              "counted as failed")
        failed = 1
    return passed, failed


def check_schema(jsonl_path):
    """Validate recorded JSON lines; returns (passed, failed) or None to skip."""
    try:
        with open(jsonl_path, encoding="utf-8") as f:
            lines = [line for line in f.read().split("\n") if line]
    except OSError:
        return None
    if not lines:
        return None
    try:
        import jsonschema
    except ImportError:
        print("event schema: skipped (python3-jsonschema not installed)")
        return None
    print("=== event schema")
    try:
        with open(SCHEMA, encoding="utf-8") as f:
            schema = json.load(f)
    except (OSError, ValueError) as exc:
        print(f"event schema: cannot load {SCHEMA}: {exc}")
        return (0, 1)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)
    bad = 0
    for i, line in enumerate(lines, 1):
        try:
            rec = json.loads(line)
        except ValueError as exc:
            print(f"record {i}: not JSON: {exc}: {line}")
            bad += 1
            continue
        errors = list(validator.iter_errors(rec))
        if errors:
            bad += 1
            print(f"record {i}: {line}")
            for err in errors:
                path = "/".join(str(p) for p in err.absolute_path)
                print(f"  {path or '(root)'}: {err.message}")
    print(f"event schema: {len(lines)} records, {bad} invalid")
    bad += check_schema_rejects(validator, lines)
    return (0, 1) if bad else (1, 0)


def check_schema_rejects(validator, lines):
    """The schema must refuse broken variants of a real send record."""
    base = None
    for line in lines:
        rec = json.loads(line)
        if rec.get("type") == "send" and rec.get("syscall") == "sendmsg" and rec.get("dst"):
            base = rec
            break
    if base is None:
        print("event schema: no sendmsg record with dst to mutate")
        return 1

    def without(key):
        return lambda r: r.pop(key)

    def setv(key, value):
        return lambda r: r.__setitem__(key, value)

    mutations = {
        "missing seq": without("seq"),
        "missing policy": without("policy"),
        "extra key": setv("bogus", 1),
        "v 2": setv("v", 2),
        "ts without nanoseconds": setv("ts", "2026-11-22T21:50:01Z"),
        "type unknown": setv("type", "recv"),
        "connect type with sendmsg": setv("type", "connect"),
        "index without sendmmsg": setv("index", 0),
        "verdict unknown": lambda r: r["policy"].__setitem__("verdict", "maybe"),
        "enforced_by none": lambda r: r["policy"].__setitem__("enforced_by", "none"),
        "empty exe": lambda r: r["proc"].__setitem__("exe", ""),
        "dst extra key": lambda r: r["dst"].__setitem__("zone", "eth0"),
        "dst without source": setv("dst_source", None),
        "dst_source unknown": setv("dst_source", "arg"),
        "flag lowercase": setv("flags", ["msg_oob"]),
        "ret below -1": setv("ret", -2),
        "errno lowercase": setv("errno", "eperm"),
        "sock missing protocol": setv("sock", {"family": "inet", "type": "dgram"}),
        "truncated false": setv("control", {"len": 0, "cmsgs": [], "truncated": False}),
    }
    bad = 0
    for name, mutate in mutations.items():
        rec = json.loads(json.dumps(base))
        mutate(rec)
        if validator.is_valid(rec):
            print(f"event schema: accepts a broken record ({name})")
            bad += 1
    print(f"event schema: {len(mutations) - bad} of {len(mutations)} broken records refused")
    return bad


def main(argv):
    total_pass = total_fail = 0
    if len(argv) < 2:
        print("no unit test binaries given (make unit-test builds them into build/san/tests/)")
        print("0 passed, 1 failed")
        return 1
    with tempfile.TemporaryDirectory(prefix="sg-unit-") as tmp:
        jsonl = os.path.join(tmp, "records.jsonl")
        env = dict(os.environ, SG_UNIT_JSONL=jsonl, CMOCKA_MESSAGE_OUTPUT="STDOUT")
        # leaks fail a test too; a UBSan report says where it was reached
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        for path in argv[1:]:
            p, f = run_one(path, env)
            total_pass += p
            total_fail += f
        res = check_schema(jsonl)
        if res:
            total_pass += res[0]
            total_fail += res[1]
    print(f"{total_pass} passed, {total_fail} failed")
    return 1 if total_fail else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
