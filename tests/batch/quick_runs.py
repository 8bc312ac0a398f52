"""RunOptions for fast in-process runs of the batch engine: IN at tmp/in, OUT at tmp/out, the
fake backend, one worker, no progress output; any of them overridable by keyword. And the
RunOptions the CLI builds from its flags, for tests that an option reaches the engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bgremove.batch.options import RunOptions
from bgremove.cli import app
from bgremove.inference.testing import fake_backend


def quick_options(tmp_path: Path, **kw) -> RunOptions:
    kw.setdefault("backend_factory", fake_backend)
    kw.setdefault("workers", 1)
    kw.setdefault("progress", "quiet")
    return RunOptions(tmp_path / "in", tmp_path / "out", **kw)


def cli_run_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *flags: str) -> RunOptions:
    """The RunOptions `bgremove run IN OUT *flags` hands the batch engine (not run: the engine
    is replaced by one that records them), IN an empty folder at tmp/in."""
    seen: list[RunOptions] = []

    def fake_run(options, *args, **kwargs):
        seen.append(options)
        raise SystemExit(0)

    monkeypatch.setattr("bgremove.batch.driver.run", fake_run)
    (tmp_path / "in").mkdir(exist_ok=True)
    result = CliRunner().invoke(app, ["run", str(tmp_path / "in"), str(tmp_path / "out"), *flags])
    assert seen, result.output
    return seen[0]
