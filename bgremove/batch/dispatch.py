"""The contract between the driver of `bgremove run` (driver.py) and its backends.

The driver walks IN_DIR, filters by the manifest and hands the images still to do, as a lazy
iterator of Tasks, to one backend's `dispatch(driver, tasks)`: local.py (worker processes or
the GPU batcher) or ray_backend.py (a Ray cluster). A backend only moves work and results: every
result goes back through `driver.finish`, which alone records the manifest row, the report line,
progress and the summary, so both backends behave the same way by construction.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Protocol

from bgremove.batch.options import RunOptions
from bgremove.batch.report import ImageResult
from bgremove.batch.worker import Task
from bgremove.imaging.safewrite import remove_temps


class Driver(Protocol):
    """What a backend may use of the running job."""

    options: RunOptions
    stop_message: str  # logged once when a stop is asked for; says what happens to the rest

    def finish(self, task: Task | None, result: ImageResult) -> None:
        """Record one image's result (call from the driver's thread only)."""

    def should_stop(self) -> bool:
        """True once a signal, --fail-fast or a test hook asked the run to stop."""

    def stop_signal(self) -> int | None:
        """The signal that asked the run to stop, if one did (images then in flight were
        stopped, not broken)."""

    def log(self, text: str) -> None:
        """A line for the user (through the progress bar when there is one)."""


class Dispatch(Protocol):
    def __call__(self, driver: Driver, tasks: Iterator[Task]) -> None: ...


def remove_partial(tasks: Iterable[Task], in_root: str | None) -> None:
    """Delete the temporary files of writes cut short by killing workers (safewrite's
    `.<name>.XXXXXXXX.tmp`) from the output folders of `tasks` (never inside `in_root`, the
    resolved IN_DIR); the outputs themselves are either complete or absent. Call it only once
    no worker writes there any more."""
    folders = {os.path.dirname(p) for t in tasks for p in t.outputs.values() if "://" not in p}
    for folder in folders:
        remove_temps(folder, in_root)
