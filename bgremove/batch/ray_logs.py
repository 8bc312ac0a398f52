"""What the driver shows of Ray's own logging during `bgremove run --backend ray`.

- Ray Data's per-dataset INFO lines and its hints about small inputs would bury the driver's own
  progress: below ERROR they are dropped.
- A lost node or a crashed actor makes Ray Data log each failed task at ERROR with a full
  traceback (ActorUnavailableError, ActorDiedError), though Ray retries the work and the run goes
  on: each such record is cut to one line naming the error.
- ray.init from a helper thread notes that it set no SIGTERM handler: the driver keeps its own
  on purpose (stopping.py), so the note is dropped.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator


class OneLine(logging.Filter):
    """A record with a traceback becomes one line: its message and the exception's first line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            first = (str(exc).strip().splitlines() or [""])[0]
            record.msg = (f"{record.getMessage().splitlines()[0]} ({type(exc).__name__}: "
                          f"{first}); Ray retries the work, the run goes on")
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True


class _NotMainThreadNote(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "SIGTERM handler is not set" not in record.getMessage()


_ONE_LINE = OneLine()


def keep_ray_quiet_at_init() -> None:
    logging.getLogger("ray._private.worker").addFilter(_NotMainThreadNote())


# Ray Data loggers that log task failures with tracebacks; named ahead because their modules may
# be imported only once a dataset runs, and getLogger hands them the same (filtered) logger.
_FAILURE_LOGGERS = (
    "ray.data._internal.execution.streaming_executor_state",
    "ray.data._internal.execution.streaming_executor",
    "ray.data._internal.execution.operators.actor_pool_map_operator",
    "ray.data._internal.execution.operators.map_operator",
)


def _ray_data_loggers() -> list[logging.Logger]:
    # Filters run only on the logger a record starts from, not on its parents: every Ray Data
    # logger there is, and the ones named above, get one.
    names = {n for n in logging.root.manager.loggerDict if n.startswith("ray.data")}
    return [logging.getLogger(n) for n in sorted(names | set(_FAILURE_LOGGERS) | {"ray.data"})]


@contextlib.contextmanager
def quiet_ray() -> Iterator[None]:
    logger = logging.getLogger("ray.data")
    level = logger.level
    logger.setLevel(logging.ERROR)
    loggers = _ray_data_loggers()
    for each in loggers:
        each.addFilter(_ONE_LINE)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The minimum number of concurrent actors")
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="ray")
            yield
    finally:
        logger.setLevel(level)
        for each in loggers:
            each.removeFilter(_ONE_LINE)
