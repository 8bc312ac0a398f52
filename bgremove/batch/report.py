"""What a run tells its user: per-image results, quality flags, the JSONL report, progress lines
and the final summary.

Nothing here keeps one record per image in memory: results are written to the report as they
arrive and only counters (plus the first few failure messages) survive until the summary.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bgremove.errors import ConfigError

if TYPE_CHECKING:  # the run's parent records results without numpy; its workers compute them
    import numpy as np

# Quality thresholds on the downsampled mask (fraction of pixels with alpha > 0.5).
EMPTY_BELOW = 0.001
FULL_ABOVE = 0.95
BORDER_ABOVE = 0.02  # fraction of the outer ring that is foreground
UNCERTAIN_SHARE = 0.02  # of the image with alpha in (0.1, 0.9) ...
UNCERTAIN_PER_OBJECT = 0.6  # ... and that much of the object's area (alpha > 0.5)
_QUALITY_SIDE = 256
DAMAGED = "damaged_input"  # the decoder reported damage it worked around (io.read_image)
# The flags that follow from the mask alone (kept with a cached mask); the others come from
# reading (DAMAGED) and rendering (canvas.UPSCALE_CAPPED), so they are worked out every time.
MASK_FLAGS = ("empty_mask", "full_frame", "touches_border", "uncertain_mask")
_KEEP_FAILURES = 20


@dataclass
class ImageResult:
    """One image's outcome; small and picklable, the only thing a worker sends back."""

    path: str  # relative to IN_DIR, POSIX separators
    status: str  # "ok" | "failed" | "skipped" | "stopped"
    error: str | None = None
    ms: float | None = None
    coverage: float | None = None
    flags: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)  # relative to OUT_DIR
    sizes: list[int] = field(default_factory=list)  # bytes of each output, as written
    warnings: list[str] = field(default_factory=list)  # what the decoder said (damage, EXIF)
    mask: str | None = None  # where the mask came from: "model" (the network) or "cache"

    @classmethod
    def from_json(cls, text: str) -> ImageResult:
        """The inverse of `to_json` (results cross process and machine boundaries as JSON)."""
        return cls(**json.loads(text))

    def to_json(self) -> str:
        text = json.dumps(asdict(self), ensure_ascii=False)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a file name that is not valid UTF-8: escape it, stay JSON
            text = json.dumps(asdict(self))
        return text


def mask_quality(alpha: np.ndarray, sharpen: float = 1.0) -> tuple[float, list[str]]:
    """Coverage and review flags from an HW float mask, on a strided view (~256 px long side)
    so the cost is negligible next to encoding.

    uncertain_mask: much of the mask is neither object nor background (alpha between 0.1 and
    0.9 on at least UNCERTAIN_SHARE of the image and at least UNCERTAIN_PER_OBJECT times the
    object's own area): what a crowd kept as a ghost or a fence smeared in looks like. On
    val/davis it caught 11 of the 16 lowest-IoU frames and flagged 2 of the 74 frames with
    IoU >= 0.8 (bench/bench_flags.py). `sharpen`: the weights' edge sharpening, already in
    `alpha` (inference/sharpen.py); the band is mapped through it, so the flag judges the
    network's own probabilities, as it was tuned on them."""
    step = max(1, max(alpha.shape[:2]) // _QUALITY_SIDE)
    view = alpha[::step, ::step]
    fg = view > 0.5
    coverage = float(fg.mean()) if fg.size else 0.0
    flags = []
    if coverage < EMPTY_BELOW:
        flags.append("empty_mask")
    elif coverage > FULL_ABOVE:
        flags.append("full_frame")
    else:
        edges = (fg[0], fg[-1], fg[:, 0], fg[:, -1])
        if sum(int(e.sum()) for e in edges) / sum(e.size for e in edges) > BORDER_ABOVE:
            flags.append("touches_border")
    lo, hi = _unsure_band(sharpen)
    unsure = float(((view > lo) & (view < hi)).mean()) if fg.size else 0.0
    if unsure >= UNCERTAIN_SHARE and unsure >= UNCERTAIN_PER_OBJECT * coverage:
        flags.append("uncertain_mask")
    return round(coverage, 5), flags


@functools.lru_cache(maxsize=8)
def _unsure_band(sharpen: float) -> tuple[float, float]:
    """(0.1, 0.9) through the weights' sharpening: once per factor, not once per image."""
    from bgremove.inference.sharpen import band  # numpy: only where masks are

    return band(0.1, 0.9, sharpen)


class ReportWriter:
    """JSONL report, one line per image, flushed as written so a killed run keeps its lines."""

    def __init__(self, path: Path | None) -> None:
        self._f: TextIO | None = None
        if path is not None:
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                self._f = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
            except OSError as exc:
                raise ConfigError(f"cannot write the report {path}: {exc}") from None

    def write(self, result: ImageResult) -> None:
        if self._f is not None:
            self._f.write(result.to_json() + "\n")
            self._f.flush()

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None


@dataclass
class RunSummary:
    """Counts of one run. `exit_code`: 0 all good, 1 any image failed, 130/143 interrupted
    by SIGINT/SIGTERM (the next run resumes)."""

    processed: int = 0
    skipped: int = 0
    failed: int = 0
    stopped: int = 0  # in flight when a signal stopped the run; the next run redoes them
    damaged: int = 0  # processed, but the decoder saw damage (flag damaged_input)
    ignored: int = 0
    stale: int = 0  # outputs that belong to no input (--stale list|delete)
    stale_deleted: bool = False
    reused: int = 0  # processed from a cached mask, without a network pass
    excluded: int = 0  # images --include/--exclude left out
    elapsed_s: float = 0.0
    interrupted: int | None = None  # the signal number that stopped the run
    stopped_early: bool = False  # fail_fast stopped at the first failure
    failures: list[str] = field(default_factory=list)  # the first few "path: reason"
    warnings: list[str] = field(default_factory=list)

    @property
    def images_per_second(self) -> float:
        done = self.processed + self.failed
        return done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def exit_code(self) -> int:
        if self.interrupted is not None:
            return 128 + self.interrupted
        return 1 if self.failed else 0

    def add(self, result: ImageResult) -> None:
        if result.status == "ok":
            self.processed += 1
            self.damaged += DAMAGED in result.flags
            self.reused += result.mask == "cache"
        elif result.status == "skipped":
            self.skipped += 1
        elif result.status == "stopped":
            self.stopped += 1
        else:
            self.failed += 1
            if len(self.failures) < _KEEP_FAILURES:
                self.failures.append(f"{result.path}: {result.error}")


    @property
    def eventful(self) -> bool:
        """Whether the summary says more than "nothing to do"."""
        return bool(self.processed or self.failed or self.stopped or self.warnings
                    or self.interrupted is not None or self.stale)


def format_summary(s: RunSummary) -> str:
    excluded = f", {s.excluded} excluded (--include/--exclude)" if s.excluded else ""
    if not s.eventful:
        return (f"bgremove: nothing to do: {s.skipped} images unchanged, {s.ignored} non-image "
                f"files ignored{excluded}, {_hms(s.elapsed_s)} elapsed")
    stopped = f", {s.stopped} stopped in flight" if s.stopped else ""
    reused = f" ({s.reused} from cached masks)" if s.reused else ""
    lines = [
        f"bgremove: {s.processed} processed{reused}, {s.skipped} skipped (unchanged), "
        f"{s.failed} failed{stopped}, {s.ignored} non-image files ignored{excluded}; "
        f"{s.images_per_second:.2f} images/s, {_hms(s.elapsed_s)} elapsed"
    ]
    if s.damaged:
        lines.append(f"  {s.damaged} processed images were damaged files (flag {DAMAGED} in "
                     "the report): check them")
    if s.stale:
        lines.append(f"  {s.stale} stale outputs (no input makes them any more) "
                     + ("removed" if s.stale_deleted else "listed on stdout; remove them with "
                        "--stale delete"))
    lines += [f"  warning: {w}" for w in s.warnings]
    lines += [f"  failed: {f}" for f in s.failures]
    if s.failed > len(s.failures):
        lines.append(f"  ... and {s.failed - len(s.failures)} more failures (see the report)")
    if s.interrupted is not None:
        name = signal.Signals(s.interrupted).name
        lines.append(f"  interrupted by {name}: the next run resumes where this one stopped")
    elif s.stopped_early:
        lines.append("  stopped at the first failure (--fail-fast)")
    return "\n".join(lines)


def _hms(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}"


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
                f"{c['failed']}), {rate:.2f} images/s, {_hms(elapsed)} elapsed")

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
