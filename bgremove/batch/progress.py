"""Progress of a run: a bar on a terminal, plain lines in a cron mail."""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

from bgremove.batch.report import hms


class Progress:
    """A tqdm bar on a terminal; otherwise one plain line every `interval` seconds (and at each
    10% step when the total is known), which reads well in a cron mail."""

    def __init__(self, mode: str = "auto", total: int | None = None, interval: float = 30.0,
                 stream: TextIO | None = None) -> None:
        self._owned = stream is None
        self.stream = stream if stream is not None else _own_stderr()
        if mode == "auto":
            mode = "bar" if _isatty(self.stream) else "log"
        self.mode, self.total, self.interval = mode, total, interval
        self.counts = {"ok": 0, "skipped": 0, "failed": 0}
        self._start = self._last = time.monotonic()
        self._next_pct = 10
        self._bar = None
        if mode == "bar":
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="img", file=self.stream, dynamic_ncols=True)

    def update(self, status: str) -> None:
        self.counts[status] = self.counts.get(status, 0) + 1
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(failed=self.counts["failed"], refresh=False)
        elif self.mode == "log":
            now = time.monotonic()
            done = sum(self.counts.values())
            pct = 100 * done // self.total if self.total else 0
            # Every 10% only once something was done: a run that skips everything says so once.
            step = self.total and pct >= self._next_pct and self.counts["ok"] + self.counts["failed"]
            if now - self._last >= self.interval or step:
                self._last = now
                self._next_pct = (pct // 10 + 1) * 10
                self.log(self.line())

    def line(self) -> str:
        c = self.counts
        done = sum(c.values())
        of = f"/{self.total}" if self.total else ""
        elapsed = time.monotonic() - self._start
        rate = (c["ok"] + c["failed"]) / elapsed if elapsed > 0 else 0.0
        return (f"bgremove: {done}{of} images (ok {c['ok']}, skipped {c['skipped']}, failed "
                f"{c['failed']}), {rate:.2f} images/s, {hms(elapsed)} elapsed")

    def log(self, text: str, always: bool = False) -> None:
        """Print a line; `always`: even in quiet mode (failures must reach a cron mail)."""
        if self.mode == "quiet" and not always:
            return
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        """End the bar; `log` still works (the summary comes after)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def release(self) -> None:
        self.close()
        if self._owned and self.stream is not sys.stderr:
            self.stream.close()


def _own_stderr() -> TextIO:
    """A stream of our own on the terminal's stderr: a duplicate of file descriptor 2, so that
    decoders' messages, caught by pointing fd 2 elsewhere while they run (decodelog.py), never
    swallow the progress lines another thread prints meanwhile."""
    stream = sys.stderr
    try:
        if stream is None or stream.fileno() != 2:
            return stream  # not fd 2 (a test's capture, a notebook): fd 2's detours miss it
        stream.flush()
        return os.fdopen(os.dup(2), "w", encoding=stream.encoding or "utf-8",
                         errors="backslashreplace", buffering=1)
    except (AttributeError, OSError, ValueError):
        return stream


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
