# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""One request on a sendguardd control socket (docs/control.md), for the suites that only
ask (control.py tests the protocol itself)."""

import json
import socket


def request(path, req, timeout=20.0):
    """The daemon's reply (a dict) to req (a dict) on the control socket at path."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall((json.dumps(req) + "\n").encode())
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        return json.loads(buf.split(b"\n", 1)[0])
    finally:
        s.close()
