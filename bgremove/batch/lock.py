"""One run per OUT_DIR at a time: an flock on OUT_DIR/.bgremove.lock holding the owner's pid.

flock locks die with the process that holds them, so a run killed with SIGKILL or a machine
reboot never leaves a lock that blocks the next cron run: the file may remain, the lock does not.
The file is never deleted (deleting it would let two runs lock two different inodes).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from bgremove.errors import ConfigError

LOCK_NAME = ".bgremove.lock"


class LockedError(ConfigError):
    """Another live process holds the lock on this OUT_DIR (a usage error: exit code 2)."""


class RunLock:
    """Exclusive, non-blocking lock of an output folder. Use as a context manager."""

    def __init__(self, out_dir: Path) -> None:
        self.path = Path(out_dir) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise LockedError(
                f"another bgremove run (pid {holder}) is writing to {self.path.parent}; "
                f"wait for it to finish or stop it (lock file: {self.path})"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        # Clear the pid first so a reader never blames a finished run.
        os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
