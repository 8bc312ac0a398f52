"""The bound on what one server process holds: at most `limit` requests at once.

A request takes a Ticket before its body is read (refused, 503, when none is left) and gives it
back only when all of its work is over: a request that timed out still has a decode or an encode
running in a thread, holding its pixels, and its ticket stays taken until that thread is done. So
memory is bounded by the limit whatever clients do: `limit` uploads and decoded images, plus the
model's batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

T = TypeVar("T")


class Admission:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.taken = 0

    def enter(self) -> Ticket | None:
        """A ticket, or None when `limit` requests are already in."""
        if self.taken >= self.limit:
            return None
        self.taken += 1
        return Ticket(self)

    def _leave(self) -> None:
        self.taken -= 1


class Ticket:
    """One admitted request; runs its thread work and knows when that work is over."""

    def __init__(self, admission: Admission) -> None:
        self._admission = admission
        self._pending = 0
        self._closed = False
        self._released = False

    async def run(self, executor: Executor, fn: Callable[..., T], *args: Any) -> T:
        """fn(*args) in `executor`; if the request is cancelled (timeout, client gone) while fn
        runs, the ticket is kept until fn returns."""
        loop = asyncio.get_running_loop()
        job = executor.submit(fn, *args)
        self._pending += 1
        job.add_done_callback(lambda _: call_soon(loop, self._job_done))
        return await asyncio.wrap_future(job)

    def _job_done(self) -> None:
        self._pending -= 1
        self._maybe_release()

    def close(self) -> None:
        """The request has its answer (or gave up); the ticket returns once its jobs are done."""
        self._closed = True
        self._maybe_release()

    def _maybe_release(self) -> None:
        if self._closed and not self._pending and not self._released:
            self._released = True
            self._admission._leave()


def call_soon(loop: asyncio.AbstractEventLoop, fn: Callable[[], None]) -> None:
    try:
        loop.call_soon_threadsafe(fn)
    except RuntimeError:  # the loop closed at shutdown: no one is counting any more
        pass
