"""The CPU worker processes of a run: the standard library's process pool, started with spawn.

Why this pool and start method: a run starts its pool once and tears it down when done, so a
reusable executor buys nothing, and starting one is a fixed cost of every run, small cron
batches included. On an idle 2-core machine two workers with their imports were ready in 0.22 s
with spawn against 0.3-0.4 s (plus 0.1 s to import it) with joblib's loky. fork would be faster
still but is unsafe in a parent with threads; a forkserver makes itself, not the run, the
workers' parent (lifeline.py kills a worker whose parent is gone).

Spawn as the standard library does it re-runs the parent's main script in every child, which
breaks a user's script without an `if __name__ == "__main__":` guard (each child would start a
run of its own) and repeats its top-level work. The workers need nothing from it (they run
bgremove's functions), so they are started without it, as loky started them.

Workers ignore SIGTERM (stopping.py), so the pool's own clean-up after a worker dies (it sends
SIGTERM to the others, then waits for them) would wait forever: `kill` sends SIGKILL to every
worker the pool started, which also ends a run without leaving workers behind.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

__all__ = ["BrokenProcessPool", "WorkerPool"]


class WorkerPool:
    """`n` worker processes, each set up by `initializer(*initargs)`, started as tasks arrive."""

    def __init__(self, n: int, initializer: Callable[..., None], initargs: tuple = ()) -> None:
        self._executor = ProcessPoolExecutor(
            n, mp_context=_spawn_context(), initializer=initializer, initargs=initargs)
        # The executor's own {pid: Process} dict, which it fills as it spawns workers and
        # forgets on shutdown: held here so `kill` and `exit_codes` still reach them.
        self._processes: dict[int, Any] = self._executor._processes  # noqa: SLF001

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        return self._executor.submit(fn, *args)

    def exit_codes(self) -> str:
        """The workers that have exited, as '{SIGKILL(-9)}' (empty when none has)."""
        procs = list(self._processes.values())
        # A dead worker's sentinel closes while the kernel is still tearing it down, before
        # its exit code can be read, and the pool's thread may be reaping it at the same time
        # (then this thread's wait finds nothing): wait a moment for the code to appear.
        gone = set(multiprocessing.connection.wait([p.sentinel for p in procs], timeout=0))
        codes, deadline = [], time.monotonic() + 1.0
        for proc in (p for p in procs if p.sentinel in gone):
            while proc.exitcode is None and time.monotonic() < deadline:
                time.sleep(0.005)
            if proc.exitcode is not None:
                codes.append(proc.exitcode)
        return "{" + ", ".join(_describe(c) for c in codes) + "}" if codes else ""

    def kill(self) -> None:
        """SIGKILL every worker, then release the pool's threads and queues."""
        for proc in list(self._processes.values()):
            if proc.exitcode is None:
                proc.kill()
        for proc in list(self._processes.values()):
            proc.join()
        self._executor.shutdown(wait=True, cancel_futures=True)


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"{signal.Signals(-code).name}({code})"
        except ValueError:
            pass
    return str(code)


def _spawn_context() -> Any:
    if sys.platform == "win32":  # its spawn has no POSIX launcher to adapt
        return multiprocessing.get_context("spawn")
    return _Context()


if sys.platform != "win32":
    from multiprocessing import context, popen_spawn_posix, spawn

    # Module level, as the child unpickles its Process object by reference.
    class _Popen(popen_spawn_posix.Popen):
        def _launch(self, process_obj: Any) -> None:
            # The launcher reads the child's preparation data (sys.path, cwd, the main module
            # to re-run) from spawn.get_preparation_data; swapped, in this thread, for the
            # length of one launch, it leaves out the main module.
            real = spawn.get_preparation_data

            def without_main(name: str) -> dict:
                data = real(name)
                data.pop("init_main_from_path", None)
                data.pop("init_main_from_name", None)
                return data

            spawn.get_preparation_data = without_main
            try:
                super()._launch(process_obj)
            finally:
                spawn.get_preparation_data = real

    class _Process(context.SpawnProcess):
        @staticmethod
        def _Popen(process_obj: Any) -> _Popen:  # noqa: N802 - the name multiprocessing calls
            return _Popen(process_obj)

    class _Context(context.SpawnContext):
        Process = _Process
