# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Helpers of the suites that run sendguardd the way a fleet does (metrics.py,
remote_syslog.py, service.py): prerequisites, free ports, reading the event
file, scraping /metrics, measuring that the pipeline still delivers in time."""
import os
import shutil
import socket
import tempfile
import time
import urllib.request

from sink_tests import read_lines


# The daemon delivers within 1 s (README, "Running the daemon"); a stall would last 10 s (a scraper's
# timeout) or for ever (a collector that never reads). Other processes on a
# shared test machine may load both cores (load averages of 9 seen), so the
# bounds leave room.
LATENCY_MAX = 5.0
EXIT_MAX = 10.0


def missing_tools(*tools):
    """The tools (programs) that are not installed."""
    return [t for t in tools if not shutil.which(t) and not os.path.exists(t)]


def prerequisites(res, suite, tools):
    """True when the suite can run. Without root or a tool it is skipped, saying
    why; with CI=true that is a failure instead."""
    why = []
    if os.geteuid() != 0:
        why.append("needs root (sudo make test)")
    miss = missing_tools(*tools)
    if miss:
        why.append("missing " + ", ".join(miss) + " (make deps installs them)")
    if not why:
        return True
    if os.environ.get("CI") == "true":
        res.report(suite, why)
    else:
        print(f"{suite} skipped: " + "; ".join(why))
    return False


def begin(suite, name, tools):
    """(build, res, work) of a suite (a harness.Suite) run as `NAME.py --build DIR [-k REGEX]
    [--only NAME,...]`; work is None when the prerequisites are missing (finish(res) then
    ends the run)."""
    _, res = suite.parse()
    if not prerequisites(res, name, tools):
        return suite.build, res, None
    work = tempfile.mkdtemp(prefix=f"sendguard-{name}-")
    os.chmod(work, 0o755)
    return suite.build, res, work


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(cond, timeout=5.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


def read_records(path):
    """(records, problems): every line of a JSON Lines file, whole and valid."""
    if not os.path.exists(path):
        return [], [f"{path} missing"]
    return read_lines(path)


def unit_settings(path):
    """{key: value} of a systemd unit file (the first of each key)."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(("#", "[")) and "=" in line:
                k, v = line.split("=", 1)
                out.setdefault(k, v)
    return out


def finish(res, work=None):
    """The suite's last line; removes work unless a test failed. The exit code."""
    if work and not res.failed and not os.environ.get("SG_KEEP"):
        shutil.rmtree(work, ignore_errors=True)
    elif work:
        print(f"(work directory kept: {work})")
    return res.summary()


def scrape(port, timeout=5.0, path="/metrics"):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def parse_metrics(text):
    """{(name, frozenset(labels.items())): value} of an exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, value = line.rsplit(" ", 1)
        labels = {}
        if "{" in name_labels:
            name, rest = name_labels.split("{", 1)
            for part in rest.rstrip("}").split('",'):
                if part:
                    k, v = part.split("=", 1)
                    labels[k] = v.strip('"')
        else:
            name = name_labels
        out[(name, frozenset(labels.items()))] = float(value)
    return out


def metric(m, name, **labels):
    return m.get((name, frozenset(labels.items())))


def udp_send(port, n=1, payload=b"x"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    errors = 0
    for _ in range(n):
        try:
            s.sendto(payload, ("127.0.0.1", port))
        except OSError:
            errors += 1
    s.close()
    return errors


def event_latency(events_path, port, timeout=5.0):
    """Sends one datagram to port and returns the seconds until its event is in the
    file sink (None if it did not come within timeout)."""
    t0 = time.monotonic()
    udp_send(port)
    needle = f'"port":{port}'.encode()

    def seen():
        try:
            with open(events_path, "rb") as f:
                return needle in f.read()
        except OSError:
            return False
    if wait_for(seen, timeout, 0.02):
        return time.monotonic() - t0
    return None
