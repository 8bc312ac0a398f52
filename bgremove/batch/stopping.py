"""How a run stops: the driver's signal flag, and signals held back while worker processes start.

First SIGINT/SIGTERM: remembered (the driver stops dispatching, lets the images in progress
finish, saves, exits 128 + signal). Second: KeyboardInterrupt, and the workers are killed.

Workers ignore both signals (worker.worker_init): the terminal's Ctrl-C and systemd's SIGTERM go
to every process of the group, and the driver alone decides what happens to the images in
flight. A worker that is still starting cannot ignore anything yet, so the driver blocks both
signals while it may spawn workers (`held_signals`): a child inherits the blocked mask through
fork and exec and unblocks it only once it ignores them, and in the driver a signal that arrives
meanwhile stays pending and is delivered as soon as the window closes, never lost. (Setting
SIG_IGN in that window instead, as before, threw away a Ctrl-C that landed in it.)
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopFlag:
    """First SIGINT/SIGTERM: remember it (the loop stops dispatching). Second: abort now."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopFlag:
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def held_signals() -> Iterator[None]:
    """SIGINT and SIGTERM blocked in this thread (and so in any process it spawns) for the
    duration; one that arrives meanwhile is delivered when the block ends."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def ignore_stop_signals() -> None:
    """In a worker: ignore SIGINT and SIGTERM, then unblock them (a signal pending since the
    spawn is discarded by the ignore)."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
