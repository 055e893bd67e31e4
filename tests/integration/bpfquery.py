# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Which BPF programs are attached to a cgroup, asked of the kernel with bpf(2) itself.

`bpftool cgroup show` fails outright on kernels older than the bpftool (it asks about attach
types they do not know, e.g. on 5.10), so the tests query the sock_addr hooks one attach type
at a time: BPF_PROG_QUERY on the cgroup, then each program's name (cut to 15 characters by
the kernel: sg_connect4_compat shows as sg_connect4_com).
"""

import ctypes
import os

_libc = ctypes.CDLL(None, use_errno=True)
_SYS_BPF = 321  # x86_64
_BPF_PROG_GET_FD_BY_ID = 13
_BPF_OBJ_GET_INFO_BY_FD = 15
_BPF_PROG_QUERY = 16

# Attach types of the sock_addr hooks sendguard uses (enum bpf_attach_type).
HOOKS = {"connect4": 10, "connect6": 11, "sendmsg4": 14, "sendmsg6": 15,
         "connect_unix": 49, "sendmsg_unix": 50}


def _bpf(cmd, attr):
    r = _libc.syscall(_SYS_BPF, cmd, ctypes.byref(attr), ctypes.sizeof(attr))
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


class _Query(ctypes.Structure):
    _fields_ = [("target_fd", ctypes.c_uint32), ("attach_type", ctypes.c_uint32),
                ("query_flags", ctypes.c_uint32), ("attach_flags", ctypes.c_uint32),
                ("prog_ids", ctypes.c_uint64), ("prog_cnt", ctypes.c_uint32),
                ("pad", ctypes.c_uint32 * 9)]


class _GetId(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint32), ("next_id", ctypes.c_uint32),
                ("open_flags", ctypes.c_uint32), ("pad", ctypes.c_uint32 * 13)]


class _Info(ctypes.Structure):
    _fields_ = [("bpf_fd", ctypes.c_uint32), ("info_len", ctypes.c_uint32),
                ("info", ctypes.c_uint64), ("pad", ctypes.c_uint32 * 12)]


def _prog_info(prog_id):
    """(name, verified_insns) of a program; verified_insns is 0 before 5.16 (the kernel
    does not report it)."""
    fd = _bpf(_BPF_PROG_GET_FD_BY_ID, _GetId(id=prog_id))
    try:
        buf = (ctypes.c_uint8 * 256)()
        _bpf(_BPF_OBJ_GET_INFO_BY_FD,
             _Info(bpf_fd=fd, info_len=256, info=ctypes.addressof(buf)))
        # struct bpf_prog_info: name[16] at offset 64, verified_insns (u32) at 216.
        name = bytes(buf[64:80]).split(b"\0", 1)[0].decode()
        return name, int.from_bytes(bytes(buf[216:220]), "little")
    finally:
        os.close(fd)


def process_programs(pid):
    """{program id: (name, verified_insns)} of the BPF programs process pid holds open
    (its fds, from /proc/pid/fdinfo)."""
    out = {}
    fdinfo = f"/proc/{pid}/fdinfo"
    for fd in os.listdir(fdinfo):
        try:
            with open(os.path.join(fdinfo, fd)) as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        prog_id = int(line.split()[1])
                        out[prog_id] = _prog_info(prog_id)
        except (FileNotFoundError, ProcessLookupError):
            pass  # closed since the listing
    return out


def cgroup_hooks(cgroup_dir):
    """{hook: [program names]} of the sock_addr hooks attached to cgroup_dir (only the
    hooks this kernel knows)."""
    out = {}
    fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for hook, atype in HOOKS.items():
            ids = (ctypes.c_uint32 * 64)()
            q = _Query(target_fd=fd, attach_type=atype, prog_ids=ctypes.addressof(ids),
                       prog_cnt=64)
            try:
                _bpf(_BPF_PROG_QUERY, q)
            except OSError:
                continue  # an attach type this kernel does not have
            names = []
            for i in range(q.prog_cnt):
                try:
                    names.append(_prog_info(ids[i])[0])
                except FileNotFoundError:
                    pass  # detached and freed since the query (a daemon stopping): gone
            out[hook] = names
    finally:
        os.close(fd)
    return out


def sendguard_hooks(cgroup_dir):
    """The hook of every sendguard program attached to cgroup_dir, sorted, one entry per
    program ("sendmsg4" twice: two programs on that hook)."""
    return sorted(hook for hook, names in cgroup_hooks(cgroup_dir).items()
                  for n in names if n.startswith("sg_"))
