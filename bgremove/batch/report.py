"""What a run tells its user: per-image results, the JSONL report and the final summary
(quality flags: flags.py; progress lines: progress.py).

Nothing here keeps one record per image in memory: results are written to the report as they
arrive and only counters (plus the first few failure messages) survive until the summary.
"""

from __future__ import annotations

import json
import signal
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TextIO

from bgremove.batch.flags import DAMAGED
from bgremove.errors import ConfigError

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


def hms(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}"


def format_summary(s: RunSummary) -> str:
    excluded = f", {s.excluded} excluded (--include/--exclude)" if s.excluded else ""
    if not s.eventful:
        return (f"bgremove: nothing to do: {s.skipped} images unchanged, {s.ignored} non-image "
                f"files ignored{excluded}, {hms(s.elapsed_s)} elapsed")
    stopped = f", {s.stopped} stopped in flight" if s.stopped else ""
    reused = f" ({s.reused} from cached masks)" if s.reused else ""
    lines = [
        f"bgremove: {s.processed} processed{reused}, {s.skipped} skipped (unchanged), "
        f"{s.failed} failed{stopped}, {s.ignored} non-image files ignored{excluded}; "
        f"{s.images_per_second:.2f} images/s, {hms(s.elapsed_s)} elapsed"
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


