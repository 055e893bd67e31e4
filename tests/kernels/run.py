#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""sendguard on Debian's kernels: the integration tests inside qemu, one kernel at a time.

    /usr/bin/python3 tests/kernels/run.py --build build [--kernels 5.10,6.1,6.12] [-v]

For each kernel of the matrix (Debian 11's 5.10, Debian 12's 6.1 and the 6.12 of
bookworm-backports): fetch the kernel package from the Debian mirror this machine's apt
uses, through a private apt configuration (its own sources list, lists and cache under
the cache directory: the system's apt setup is left alone), unpack the kernel and the
9p/virtio modules, build a busybox initramfs, and boot it under qemu-system-x86_64 (TCG)
with this machine's root shared read-only over 9p. The guest mounts what the tests
need on tmpfs, cgroup2, bpffs and securityfs, and runs tests/kernels/guest.py: the
integration suites (a subset chosen there) plus the facts each kernel must show (which
program variant loads, whether BPF-LSM enforces). Every kernel prints its own
`N passed, N failed`; the last line sums them. A kernel that cannot be fetched or booted
is a failure (outside CI it is skipped with the reason when qemu or busybox is missing).

The downloads are cached in $SENDGUARD_KERNEL_CACHE (default
/var/cache/sendguard/kernels), outside the tree; a cached kernel is used when the
mirror cannot be reached.
"""

import argparse
import gzip
import io
import lzma
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# What each kernel of the matrix must show, as make test-kernels proves it (README,
# "Kernels"). variants: the program variant each object loads (None: not loaded);
# lsm: whether BPF-LSM enforces there; unix_hooks: whether the cgroup unix hooks attach.
KERNELS = [
    {"name": "5.10", "suites": ["bullseye", "bullseye-security"],
     "variants": {"tracing": "compat", "hooks": "compat", "lsm": None,
                  "paths": "compat"}, "lsm": False,
     "unix_hooks": False},
    {"name": "6.1", "suites": ["bookworm", "bookworm-security"],
     "variants": {"tracing": "core", "hooks": "btf", "lsm": "core",
                  "paths": "core"}, "lsm": True,
     "unix_hooks": False},
    {"name": "6.12", "suites": ["bookworm-backports"],
     "variants": {"tracing": "btf", "hooks": "btf", "lsm": "btf",
                  "paths": "btf"}, "lsm": True,
     "unix_hooks": True},
]

# The modules that mount the shared root, in load order; each kernel has those it
# builds as modules (the others are built in).
MODULES = ["virtio_ring", "virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev",
           "virtio_pci", "netfs", "fscache", "9pnet", "9pnet_virtio", "9p"]

DEFAULT_CACHE = "/var/cache/sendguard/kernels"
BOOT_TIMEOUT = 2700  # seconds per kernel, boot to power-off (three guests on two cores: ~30 min)


def log(msg):
    print(msg, flush=True)


def in_ci():
    return os.environ.get("CI") == "true"


# --- fetching ----------------------------------------------------------------

def system_mirrors():
    """(debian, debian-security) URIs of this machine's apt sources."""
    uris = []
    paths = ["/etc/apt/sources.list"]
    d = "/etc/apt/sources.list.d"
    if os.path.isdir(d):
        paths += [os.path.join(d, f) for f in sorted(os.listdir(d))
                  if f.endswith((".list", ".sources"))]
    for p in paths:
        try:
            text = open(p).read()
        except OSError:
            continue
        uris += re.findall(r"^\s*URIs:\s*(\S+)", text, re.M)
        uris += re.findall(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)", text, re.M)
    main = os.environ.get("SENDGUARD_DEBIAN_MIRROR") or next(
        (u for u in uris if "security" not in u and "debian" in u), "http://deb.debian.org/debian")
    sec = os.environ.get("SENDGUARD_DEBIAN_SECURITY_MIRROR") or next(
        (u for u in uris if "debian-security" in u), main.rstrip("/") + "-security")
    return main.rstrip("/"), sec.rstrip("/")


class Apt:
    """apt-get/apt-cache with a private sources list, lists and cache (the system's alone)."""

    def __init__(self, cache, kernel):
        self.dir = os.path.join(cache, "apt-" + kernel["name"])
        for sub in ("lists/partial", "cache/archives/partial", "etc"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        main, sec = system_mirrors()
        with open(os.path.join(self.dir, "etc", "sources.list"), "w") as f:
            for suite in kernel["suites"]:
                uri = sec if suite.endswith("-security") else main
                f.write(f"deb {uri} {suite} main\n")
        self.opts = ["-o", "Dir::Etc::sourcelist=" + os.path.join(self.dir, "etc", "sources.list"),
                     "-o", "Dir::Etc::sourceparts=-",
                     "-o", "Dir::State::Lists=" + os.path.join(self.dir, "lists"),
                     "-o", "Dir::Cache=" + os.path.join(self.dir, "cache"),
                     "-o", "APT::Get::List-Cleanup=0",
                     "-o", "APT::Sandbox::User=root",
                     "-o", "Debug::NoLocking=1"]

    def run(self, tool, *args, cwd=None):
        return subprocess.run([tool, *self.opts, *args], cwd=cwd, capture_output=True,
                              text=True, timeout=600)


def fetch(cache, kernel):
    """Directory holding vmlinuz and modules/ of the newest kernel of kernel's suites."""
    apt = Apt(cache, kernel)
    name = kernel["name"]
    r = apt.run("apt-get", "update")
    if r.returncode:
        return cached(cache, name, "apt-get update failed: " + last_line(r.stderr))
    r = apt.run("apt-cache", "depends", "linux-image-amd64")
    m = re.search(r"Depends:\s*(linux-image-[0-9][^\s]*-amd64)", r.stdout)
    if not m:
        return cached(cache, name, "no linux-image-amd64 in " + " ".join(kernel["suites"]))
    pkg = m.group(1)
    kdir = os.path.join(cache, pkg)
    if os.path.exists(os.path.join(kdir, "vmlinuz")):
        return kdir, None
    debs = os.path.join(apt.dir, "debs")
    os.makedirs(debs, exist_ok=True)
    r = apt.run("apt-get", "download", pkg, cwd=debs)
    files = [f for f in os.listdir(debs) if f.startswith(pkg + "_") and f.endswith(".deb")]
    if r.returncode or not files:
        return cached(cache, name, f"apt-get download {pkg} failed: " + last_line(r.stderr))
    unpack(os.path.join(debs, files[0]), kdir)
    for f in files:
        os.unlink(os.path.join(debs, f))
    with open(os.path.join(cache, "latest-" + name), "w") as f:
        f.write(pkg + "\n")
    return kdir, None


def last_line(text):
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return lines[-1] if lines else "(no output)"


def cached(cache, name, why):
    """The kernel an earlier run fetched, when the mirror cannot give one now."""
    try:
        pkg = open(os.path.join(cache, "latest-" + name)).read().strip()
    except OSError:
        return None, why
    kdir = os.path.join(cache, pkg)
    if os.path.exists(os.path.join(kdir, "vmlinuz")):
        log(f"[{name}] {why}; using the cached {pkg}")
        return kdir, None
    return None, why


def unpack(deb, kdir):
    """vmlinuz and the MODULES (decompressed) of a linux-image package into kdir."""
    tmp = tempfile.mkdtemp(prefix="sgk-", dir=os.path.dirname(kdir))
    try:
        subprocess.run(["dpkg-deb", "-x", deb, tmp], check=True)
        boot = os.path.join(tmp, "boot")
        vmlinuz = [f for f in os.listdir(boot) if f.startswith("vmlinuz-")]
        mods = os.path.join(tmp, "lib", "modules")
        kver = os.listdir(mods)[0]
        out = os.path.join(tmp, "out")
        os.makedirs(os.path.join(out, "modules"))
        shutil.copy(os.path.join(boot, vmlinuz[0]), os.path.join(out, "vmlinuz"))
        found = {}
        for dirpath, _, names in os.walk(os.path.join(mods, kver)):
            for n in names:
                base = re.sub(r"\.ko(\.xz|\.zst|\.gz)?$", "", n)
                if base in MODULES and base not in found:
                    found[base] = os.path.join(dirpath, n)
        for base in MODULES:
            if base not in found:
                continue
            data = open(found[base], "rb").read()
            if found[base].endswith(".xz"):
                data = lzma.decompress(data)
            elif found[base].endswith(".gz"):
                data = gzip.decompress(data)
            with open(os.path.join(out, "modules", base + ".ko"), "wb") as f:
                f.write(data)
        with open(os.path.join(out, "release"), "w") as f:
            f.write(kver + "\n")
        os.rename(out, kdir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- the initramfs -------------------------------------------------------------

def cpio_newc(entries):
    """A newc cpio archive of (path, mode, data) entries (directories: data None)."""
    out = io.BytesIO()
    ino = 1
    for path, mode, data in entries + [("TRAILER!!!", 0, b"")]:
        data = data or b""
        name = path.encode() + b"\0"
        hdr = "070701" + "".join("%08X" % v for v in (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name), 0))
        out.write(hdr.encode() + name)
        out.write(b"\0" * ((4 - (110 + len(name)) % 4) % 4))
        out.write(data)
        out.write(b"\0" * ((4 - len(data) % 4) % 4))
        ino += 1
    return out.getvalue()


INIT = r"""#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /mnt
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
for m in @MODULES@; do
    [ -f /modules/$m.ko ] && /bin/busybox insmod /modules/$m.ko
done
say() { echo "SG-GUEST: $*"; }
# cache=loose: the shared root does not change while the guest runs, and the guest's own
# page and dentry caches spare a 9p round trip per file read by every exec and import.
if ! /bin/busybox mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose host /mnt; then
    say "cannot mount the host root over 9p"
    echo "SG-GUEST-RESULT passed=0 failed=1"
    /bin/busybox sync; echo o > /proc/sysrq-trigger; /bin/busybox sleep 10
fi
/bin/busybox mount -t proc proc /mnt/proc
/bin/busybox mount -t sysfs sys /mnt/sys
/bin/busybox mount -t devtmpfs dev /mnt/dev
/bin/busybox mkdir -p /mnt/dev/pts /mnt/dev/shm 2>/dev/null
/bin/busybox mount -t devpts devpts /mnt/dev/pts
/bin/busybox mount -t tmpfs -o mode=1777 shm /mnt/dev/shm
/bin/busybox mount -t tmpfs -o mode=755 run /mnt/run
/bin/busybox mkdir -p /mnt/run/tmp /mnt/run/home
/bin/busybox chmod 1777 /mnt/run/tmp
/bin/busybox mount -t cgroup2 cgroup2 /mnt/sys/fs/cgroup
/bin/busybox mount -t bpf bpf /mnt/sys/fs/bpf
/bin/busybox mount -t securityfs securityfs /mnt/sys/kernel/security
/bin/busybox hostname sgtest
/bin/busybox ip link set lo up 2>/dev/null || /bin/busybox ifconfig lo 127.0.0.1 up
say "booted $(/bin/busybox uname -r), up $(/bin/busybox cut -d' ' -f1 /proc/uptime) s"
/bin/busybox chroot /mnt /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/run/home \
    TMPDIR=/run/tmp PYTHONDONTWRITEBYTECODE=1 CI=true LANG=C.UTF-8 \
    /usr/bin/python3 @TREE@/tests/kernels/guest.py @ARGS@
echo "SG-GUEST-EXIT $?"
/bin/busybox sync
echo o > /proc/sysrq-trigger
/bin/busybox sleep 10
"""


def initramfs(kdir, guest_args):
    busybox = static_busybox()
    mods = sorted(os.listdir(os.path.join(kdir, "modules")))
    entries = [("bin", 0o40755, None), ("modules", 0o40755, None),
               ("bin/busybox", 0o100755, open(busybox, "rb").read())]
    for m in mods:
        entries.append(("modules/" + m, 0o100644, open(os.path.join(kdir, "modules", m),
                                                      "rb").read()))
    init = (INIT.replace("@MODULES@", " ".join(MODULES)).replace("@TREE@", ROOT)
            .replace("@ARGS@", " ".join(shquote(a) for a in guest_args)))
    entries.append(("init", 0o100755, init.encode()))
    return gzip.compress(cpio_newc(entries), compresslevel=1)


def shquote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def static_busybox():
    """The path of a statically linked busybox (the initramfs has no libc), or None."""
    for p in (shutil.which("busybox"), "/bin/busybox"):
        if p and os.path.exists(p):
            with open(p, "rb") as f:
                head = f.read(4096)
            # A dynamic executable names its interpreter (PT_INTERP) in the first page.
            if head.startswith(b"\x7fELF") and b"ld-linux" not in head:
                return p
    return None


# --- booting ---------------------------------------------------------------------

def boot(kernel, kdir, build, pattern, timeout, verbose):
    """Boot kdir, run the guest, return (passed, failed, reason)."""
    name = kernel["name"]
    release = open(os.path.join(kdir, "release")).read().strip()
    v = kernel["variants"]
    args = ["--build", build, "--kernel", name,
            "--variant-tracing", v["tracing"] or "none", "--variant-hooks", v["hooks"] or "none",
            "--variant-lsm", v["lsm"] or "none", "--variant-paths", v["paths"] or "none"]
    if kernel["lsm"]:
        args.append("--expect-lsm")
    if kernel["unix_hooks"]:
        args.append("--expect-unix-hooks")
    if pattern:
        args += ["-k", pattern]
    work = tempfile.mkdtemp(prefix="sgk-boot-")
    try:
        rd = os.path.join(work, "initrd.gz")
        with open(rd, "wb") as f:
            f.write(initramfs(kdir, args))
        # Two vCPUs: the sandbox's race tests need two threads really running at once (with
        # one vCPU, or two under single-threaded TCG, the racing thread never interleaved).
        # loglevel=5: a soft lockup's backtrace reaches the console (the kernel is quiet
        # once booted); 5.10 hung twice here with both vCPUs stuck at the syscall
        # tracepoints' jump label in syscall_trace_enter, booted again after HANG_S.
        cmd = ["qemu-system-x86_64", "-m", "2048", "-smp", "2", "-nographic", "-no-reboot",
               "-kernel", os.path.join(kdir, "vmlinuz"), "-initrd", rd,
               "-append", "console=ttyS0 loglevel=5 panic=-1 rdinit=/init",
               "-virtfs", "local,path=/,mount_tag=host,security_model=none,readonly=on,"
                          "multidevs=remap",
               "-nic", "none"]
        log(f"[{name}] booting {release} under qemu (TCG)")
        start = time.monotonic()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
        result = None
        exit_seen = booted = hung = False
        deadline = start + timeout
        timer = Watchdog(p, timeout)
        progress = time.monotonic()
        for raw in p.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n").replace("\r", "")
            line = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]|\x1bc", "", line)
            m = re.match(r".*SG-GUEST-RESULT passed=(\d+) failed=(\d+)", line)
            if m:
                result = (int(m.group(1)), int(m.group(2)))
            if "SG-GUEST-EXIT" in line:
                exit_seen = True
            if "SG-GUEST: booted" in line:
                booted = True
            if re.match(r"(ok|FAIL|SKIP|==) ", line):
                progress = time.monotonic()
            # Both vCPUs stuck in the kernel for minutes with no test finishing: seen once
            # with 5.10 while three guests shared two host cores; the guest is stopped and
            # (by the caller) booted once more, which says so.
            if "soft lockup" in line and time.monotonic() - progress > HANG_S:
                hung = True
                log(f"[{name}] {line}")
                p.kill()
                break
            # The guest's own output (the kernel is quiet after boot); -v: the whole console.
            if verbose or booted or "Kernel panic" in line or "SG-GUEST" in line:
                log(f"[{name}] {line}")
        p.wait()
        timer.cancel()
        took = time.monotonic() - start
        if hung:
            return 0, 1, f"hung: soft lockups and no test finished for {HANG_S} s " \
                f"(after {took:.0f} s)"
        if result is None:
            why = "timed out" if time.monotonic() >= deadline else \
                "the guest stopped before reporting" + ("" if exit_seen else " (no exit line)")
            return 0, 1, f"{why} after {took:.0f} s"
        log(f"[{name}] {release}: {result[0]} passed, {result[1]} failed ({took:.0f} s)")
        return result[0], result[1], None
    finally:
        shutil.rmtree(work, ignore_errors=True)


# Seconds of soft lockups without a test finishing after which a guest counts as hung.
HANG_S = 600


class Watchdog:
    """Kill a process after timeout seconds."""

    def __init__(self, proc, timeout):
        self.t = threading.Timer(timeout, proc.kill)
        self.t.daemon = True
        self.t.start()

    def cancel(self):
        self.t.cancel()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--kernels", default=",".join(k["name"] for k in KERNELS),
                    help="comma-separated: " + ", ".join(k["name"] for k in KERNELS))
    ap.add_argument("--cache", default=os.environ.get("SENDGUARD_KERNEL_CACHE", DEFAULT_CACHE))
    ap.add_argument("-k", dest="pattern", help="run only guest tests matching this regex")
    ap.add_argument("--timeout", type=int, default=BOOT_TIMEOUT, help="seconds per kernel")
    ap.add_argument("-j", "--jobs", type=int, default=3, help="kernels booted at once")
    ap.add_argument("-v", dest="verbose", action="store_true", help="show the whole console")
    a = ap.parse_args()

    wanted = [k for k in KERNELS if k["name"] in a.kernels.split(",")]
    unknown = set(a.kernels.split(",")) - {k["name"] for k in KERNELS}
    if unknown:
        log("unknown kernel(s): " + ", ".join(sorted(unknown)))
        log("0 passed, 1 failed")
        return 2
    build = os.path.abspath(a.build)
    missing = [what for what, ok in (("qemu-system-x86_64", shutil.which("qemu-system-x86_64")),
                                     ("a static busybox", static_busybox()),
                                     ("dpkg-deb", shutil.which("dpkg-deb")),
                                     ("apt-get", shutil.which("apt-get"))) if not ok]
    if os.geteuid() != 0:
        missing.append("root (the guests run the daemon and read this machine's root)")
    if missing:
        msg = "kernel tests need " + ", ".join(missing) + " (make deps installs them)"
        if in_ci():
            log(msg)
            log("0 passed, 1 failed")
            return 1
        log("kernel tests skipped: " + msg)
        log("0 passed, 0 failed, 1 skipped")
        return 0
    os.makedirs(a.cache, mode=0o700, exist_ok=True)
    results = {}
    ready = []
    for k in wanted:
        kdir, why = fetch(a.cache, k)
        if kdir:
            ready.append((k, kdir))
        else:
            log(f"[{k['name']}] FAIL cannot fetch the kernel: {why}")
            results[k["name"]] = (0, 1, "cannot fetch: " + why)

    # The guests wait on their tests as much as they compute: they boot side by side
    # (--jobs), each line of their output tagged with the kernel's name.
    def one(k, kdir):
        r = boot(k, kdir, build, a.pattern, a.timeout, a.verbose)
        if r[2] and r[2].startswith("hung"):
            log(f"[{k['name']}] {r[2]}: booting it once more")
            r = boot(k, kdir, build, a.pattern, a.timeout, a.verbose)
            if r[2] is None:
                log(f"[{k['name']}] passed on the second boot; the first one hung "
                    "(an emulation stall, or a kernel bug: see the console above)")
        results[k["name"]] = r

    pending = list(ready)
    running = []
    while pending or running:
        while pending and len(running) < max(1, a.jobs):
            k, kdir = pending.pop(0)
            t = threading.Thread(target=one, args=(k, kdir))
            t.start()
            running.append(t)
        running[0].join()
        running = [t for t in running if t.is_alive()]
    total_p = total_f = 0
    for k in wanted:
        p, f, why = results.get(k["name"], (0, 1, "did not run"))
        total_p += p
        total_f += f
        if why:
            log(f"[{k['name']}] FAIL {why}")
        log(f"kernel {k['name']}: {p} passed, {f} failed" + (f" ({why})" if why else ""))
    log(f"{total_p} passed, {total_f} failed")
    return 1 if total_f else 0


if __name__ == "__main__":
    sys.exit(main())
