"""RunOptions for fast in-process runs of the batch engine: IN at tmp/in, OUT at tmp/out, the
fake backend, one worker, no progress output; any of them overridable by keyword."""

from __future__ import annotations

from pathlib import Path

from bgremove.batch.options import RunOptions
from bgremove.inference.testing import fake_backend


def quick_options(tmp_path: Path, **kw) -> RunOptions:
    kw.setdefault("backend_factory", fake_backend)
    kw.setdefault("workers", 1)
    kw.setdefault("progress", "quiet")
    return RunOptions(tmp_path / "in", tmp_path / "out", **kw)
