"""Worker processes die with the process that started them.

A `kill -9` of the driver (or the OOM killer choosing it) gives it no chance to stop its
workers; orphaned, they would sleep on, each holding a model. On Linux the kernel kills a worker
the moment its parent dies (prctl PR_SET_PDEATHSIG with SIGKILL, through ctypes); elsewhere a
watchdog thread checks once a second that the parent is still the process that started it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent_pid: int) -> None:
    """Make this process exit when `parent_pid`, its parent, dies."""
    if not _set_parent_death_signal():
        threading.Thread(target=_watch, args=(parent_pid,), name="bgremove-lifeline",
                         daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before the request was made
        os._exit(1)


def _set_parent_death_signal() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent_pid: int, interval: float = 1.0) -> None:
    while os.getppid() == parent_pid:
        time.sleep(interval)
    os._exit(1)
