# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The pin and state directories of this test process's daemons (--pin-dir, --state-dir).

Every daemon adopts the pins it finds in its pin directory and, without --persist, removes
them when it exits: with the default directories a test daemon would take over the
enforcement of a --persist daemon of the host (/sys/fs/bpf/sendguard, /run/sendguard) and
end it. So every sendguardd a test starts gets ARGS (a test that needs its own pair, such
as persist.py, passes its own), and no test touches the defaults. Both directories go when
the process exits.
"""

import atexit
import os
import shutil
import tempfile

BPFFS = "/sys/fs/bpf"
DEFAULT_PIN_DIR = BPFFS + "/sendguard"
DEFAULT_STATE_DIR = "/run/sendguard"


def pin_dir(tag=""):
    """A pin directory of this process's own under the bpffs (not made: the daemon makes it)."""
    return os.path.join(BPFFS, f"sendguard-test-{os.getpid()}{tag}")


def state_dir(tag=""):
    """A state directory of this process's own (not made: the daemon makes it)."""
    return os.path.join(_base, "state" + tag)


def remove(path):
    """Remove a pin or state directory of a test, if there (pins are files on the bpffs)."""
    if os.path.lexists(path):
        shutil.rmtree(path, ignore_errors=True)


# The state directories live in a private temporary directory: nobody else can plant
# anything there before the daemon makes them.
_owner = os.getpid()
_base = tempfile.mkdtemp(prefix="sendguard-test-state-")
PIN_DIR = pin_dir()
STATE_DIR = state_dir()
ARGS = ["--pin-dir", PIN_DIR, "--state-dir", STATE_DIR]


@atexit.register
def _cleanup():
    if os.getpid() != _owner:  # a forked child exiting leaves them to the test
        return
    remove(PIN_DIR)
    shutil.rmtree(_base, ignore_errors=True)
