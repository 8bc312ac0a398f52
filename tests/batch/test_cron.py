"""What an operator running `bgremove run` from cron sees and keeps: messages, stale outputs,
configuration errors, temporary files, the manifest's commits, the uncertain-mask flag."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np
from PIL import Image
from quick_runs import quick_options as _opts
from typer.testing import CliRunner

from bgremove.batch.driver import run
from bgremove.batch.flags import mask_quality
from bgremove.batch.manifest import MANIFEST_NAME, Manifest
from bgremove.cli import app
from bgremove.imaging.outputs import OutputOptions


def _product(path: Path, w: int = 40, h: int = 30) -> Path:
    img = np.full((h, w, 3), 255, np.uint8)
    img[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = (30, 90, 200)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)
    return path


def test_quiet_still_reports_failures_on_stderr(tmp_path, capsys):
    _product(tmp_path / "in/good.jpg")
    (tmp_path / "in/broken.jpg").write_bytes(b"not a jpeg")
    summary = run(_opts(tmp_path))
    err = capsys.readouterr().err
    assert summary.exit_code == 1
    assert "1 processed" in err and "1 failed" in err and "broken.jpg" in err
    capsys.readouterr()
    (tmp_path / "in/broken.jpg").unlink()
    run(_opts(tmp_path))
    assert capsys.readouterr().err == ""  # quiet and all well: nothing at all


def test_a_run_with_nothing_to_do_prints_one_line(tmp_path, capsys):
    for i in range(30):
        _product(tmp_path / "in" / f"p{i:02d}.jpg")
    run(_opts(tmp_path, progress="log"))
    capsys.readouterr()
    run(_opts(tmp_path, progress="log"))
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("bgremove: nothing to do: 30 images unchanged")


def test_a_missing_weights_file_touches_nothing(tmp_path):
    _product(tmp_path / "in/a.jpg")
    result = CliRunner().invoke(app, ["run", str(tmp_path / "in"), str(tmp_path / "out"),
                                      "--weights", str(tmp_path / "missing.onnx")])
    assert result.exit_code == 2
    assert "not found" in result.output
    assert not (tmp_path / "out").exists()


def test_stale_outputs_are_listed_then_deleted_and_nothing_else(tmp_path, capsys):
    _product(tmp_path / "in/a.jpg")
    _product(tmp_path / "in/gone/b.jpg")
    _product(tmp_path / "in/keep/c.jpg")
    run(_opts(tmp_path, output=OutputOptions(mask=True)))
    (tmp_path / "in/gone/b.jpg").unlink()
    (tmp_path / "in/gone").rmdir()
    (tmp_path / "out/notes.txt").write_text("mine")
    (tmp_path / "out/keep/report.jsonl").write_text("{}")
    capsys.readouterr()
    listed = run(_opts(tmp_path, output=OutputOptions(cutout_format="webp"), stale="list"))
    stale = sorted(Path(p).relative_to(tmp_path / "out").as_posix()
                   for p in capsys.readouterr().out.split())
    assert stale == ["a.mask.png", "a.png", "gone/b.mask.png", "gone/b.png", "keep/c.mask.png",
                     "keep/c.png"]
    assert listed.stale == 6 and (tmp_path / "out/a.png").exists()  # listing deletes nothing
    deleted = run(_opts(tmp_path, output=OutputOptions(cutout_format="webp"), stale="delete"))
    assert deleted.stale == 6 and deleted.skipped == 2
    left = sorted(p.relative_to(tmp_path / "out").as_posix()
                  for p in (tmp_path / "out").rglob("*")
                  if not any(part.startswith(".") for part in p.relative_to(tmp_path / "out").parts))
    assert left == ["a.webp", "keep", "keep/c.webp", "keep/report.jsonl", "notes.txt"]
    assert run(_opts(tmp_path, output=OutputOptions(cutout_format="webp"))).stale == 0


def test_temporary_files_of_killed_writers_are_removed(tmp_path, monkeypatch):
    _product(tmp_path / "in/sub/a.jpg")
    _product(tmp_path / "in/b.jpg")
    (tmp_path / "out/sub").mkdir(parents=True)
    old = tmp_path / "out/sub/.a.png.k3x9q2zw.tmp"  # left by a run killed mid-write
    old.write_bytes(b"half")
    other = tmp_path / "out/sub/.hidden-notes.tmp"  # not ours: another shape of name
    other.write_bytes(b"x")
    import bgremove.inference.testing

    class LeavesATemp(bgremove.inference.testing.FakeBackend):  # a writer killed during this run
        def predict(self, batch):
            (tmp_path / "out/.b.png.zzzzzzzz.tmp").write_bytes(b"half")
            return super().predict(batch)

    monkeypatch.setattr(bgremove.inference.testing, "fake_backend", LeavesATemp)
    summary = run(_opts(tmp_path, backend_factory=bgremove.inference.testing.fake_backend))
    assert summary.processed == 2
    assert not old.exists() and other.exists()
    assert not list((tmp_path / "out").glob(".*.zzzzzzzz.tmp"))


def test_the_manifest_commits_on_a_timer(tmp_path):
    (tmp_path / "a.png").write_bytes(b"x")
    with Manifest(tmp_path) as manifest:
        manifest.record("a.jpg", 1, 2, "k", ["a.png"], [1])
        time.sleep(2.6)  # no further record, no flush: a driver waiting for a lost node
        other = sqlite3.connect(tmp_path / MANIFEST_NAME)
        assert other.execute("SELECT COUNT(*) FROM files").fetchone()[0] == 1
        other.close()


def test_uncertain_mask_flag():
    clean = np.zeros((200, 300), np.float32)
    clean[50:150, 100:200] = 1.0
    assert "uncertain_mask" not in mask_quality(clean)[1]
    soft_edges = clean.copy()
    soft_edges[49, 100:200] = soft_edges[150, 100:200] = 0.5  # a normal soft boundary
    assert "uncertain_mask" not in mask_quality(soft_edges)[1]
    ghost = clean.copy()
    ghost[:, :90] = 0.35  # a crowd kept as a ghost, beside the object
    assert "uncertain_mask" in mask_quality(ghost)[1]


def test_progress_lines_reach_the_terminal_while_decoders_are_silenced():
    # Progress writes through its own copy of fd 2, so decodelog's detour of fd 2 during a
    # decode (in another thread, on the GPU path) never swallows a progress line.
    import subprocess
    import sys

    code = ("import os, sys\nfrom bgremove.batch.progress import Progress\n"
            "p = Progress('log')\nnull = os.open(os.devnull, os.O_WRONLY)\nsaved = os.dup(2)\n"
            "os.dup2(null, 2)\np.log('progress line')\nos.dup2(saved, 2)\np.release()\n")
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stderr
    assert "progress line" in err
