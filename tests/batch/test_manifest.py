"""Resume state (manifest), the run lock, and the report's quality flags."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from bgremove.batch.flags import mask_quality
from bgremove.batch.lock import LOCK_NAME, RunLock
from bgremove.batch.manifest import MANIFEST_NAME, Manifest, options_key
from bgremove.batch.progress import Progress
from bgremove.batch.report import ImageResult, ReportWriter, RunSummary
from bgremove.errors import ConfigError


def _outputs(out, *names):
    for n in names:
        (out / n).parent.mkdir(parents=True, exist_ok=True)
        (out / n).write_bytes(b"png")
    return list(names)


def test_recorded_entry_is_done_only_while_everything_matches(tmp_path):
    outs = _outputs(tmp_path, "a.png", "a.mask.png")
    with Manifest(tmp_path) as m:
        assert not m.is_done("a.jpg", 10, 20, "k", outs)
        m.record("a.jpg", 10, 20, "k", outs)
        assert m.is_done("a.jpg", 10, 20, "k", outs)
        assert not m.is_done("a.jpg", 11, 20, "k", outs)  # size changed
        assert not m.is_done("a.jpg", 10, 21, "k", outs)  # mtime changed
        assert not m.is_done("a.jpg", 10, 20, "other", outs)  # options/weights changed
        assert not m.is_done("a.jpg", 10, 20, "k", outs[:1])  # other outputs asked for
        (tmp_path / "a.mask.png").unlink()
        assert not m.is_done("a.jpg", 10, 20, "k", outs)  # an output went missing


def test_manifest_survives_reopen(tmp_path):
    outs = _outputs(tmp_path, "sub/a.png")
    with Manifest(tmp_path) as m:
        m.record("sub/a.jpg", 1, 2, "k", outs)
    with Manifest(tmp_path) as m:
        assert m.is_done("sub/a.jpg", 1, 2, "k", outs)
        assert len(m) == 1


def test_corrupt_manifest_is_set_aside(tmp_path):
    (tmp_path / MANIFEST_NAME).write_bytes(b"this is not sqlite" * 100)
    with Manifest(tmp_path) as m:
        assert m.warning and "starting fresh" in m.warning
        assert len(m) == 0
    assert list(tmp_path.glob(MANIFEST_NAME + ".corrupt-*"))


def test_options_key_is_stable_and_sensitive():
    a = options_key({"output": {"cutout": True, "mask": False}, "tta": False})
    b = options_key({"tta": False, "output": {"mask": False, "cutout": True}})
    c = options_key({"output": {"cutout": True, "mask": True}, "tta": False})
    assert a == b != c


def test_weights_digest_cached_and_refreshed(tmp_path):
    w = tmp_path / "w.onnx"
    w.write_bytes(b"weights-1")
    with Manifest(tmp_path) as m:
        d1 = m.weights_digest(w)
        assert m.weights_digest(w) == d1
        w.write_bytes(b"weights-22")  # new size -> re-hashed
        assert m.weights_digest(w) != d1


def test_lock_conflict_names_the_holder_pid(tmp_path):
    with RunLock(tmp_path):
        assert (tmp_path / LOCK_NAME).read_text().strip() == str(__import__("os").getpid())
        with pytest.raises(ConfigError, match=rf"pid {__import__('os').getpid()}"):
            RunLock(tmp_path).acquire()
    RunLock(tmp_path).acquire().release()  # free again once released


def test_lock_held_by_another_process(tmp_path):
    code = ("import sys, time; from bgremove.batch.lock import RunLock; "
            f"l = RunLock({str(tmp_path)!r}).acquire(); print('locked', flush=True); "
            "time.sleep(30)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(ConfigError, match=f"pid {proc.pid}"):
            RunLock(tmp_path).acquire()
    finally:
        proc.kill()
        proc.wait()
    # The dead holder's pid is still in the file, but its flock died with it.
    assert (tmp_path / LOCK_NAME).read_text().strip() == str(proc.pid)
    with RunLock(tmp_path):
        pass


def _mask(h=200, w=300):
    return np.zeros((h, w), np.float32)


def test_quality_flags():
    empty = _mask()
    assert mask_quality(empty) == (0.0, ["empty_mask"])
    full = _mask() + 1.0
    assert mask_quality(full)[1] == ["full_frame"]
    centred = _mask()
    centred[50:150, 100:200] = 1.0
    cov, flags = mask_quality(centred)
    assert flags == [] and cov == pytest.approx(100 * 100 / (200 * 300), abs=1e-3)
    touching = _mask()
    touching[100:200, 100:200] = 1.0  # reaches the bottom edge
    assert mask_quality(touching)[1] == ["touches_border"]


def test_quality_is_cheap_on_large_masks():
    big = np.zeros((3000, 4000), np.float32)
    big[1000:2000, 1000:3000] = 0.9
    t = time.perf_counter()
    cov, flags = mask_quality(big)
    assert time.perf_counter() - t < 0.05
    assert cov == pytest.approx(1000 * 2000 / 12e6, abs=0.01) and flags == []


def test_report_lines_and_summary(tmp_path):
    path = tmp_path / "r" / "report.jsonl"
    writer = ReportWriter(path)
    summary = RunSummary()
    for r in [ImageResult("a.jpg", "ok", ms=12.5, coverage=0.3, outputs=["a.png"]),
              ImageResult("b.jpg", "failed", error="corrupt"),
              ImageResult("c.jpg", "skipped")]:
        writer.write(r)
        summary.add(r)
    writer.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(d["path"], d["status"]) for d in lines] == [
        ("a.jpg", "ok"), ("b.jpg", "failed"), ("c.jpg", "skipped")]
    assert lines[1]["error"] == "corrupt" and lines[0]["coverage"] == 0.3
    assert (summary.processed, summary.failed, summary.skipped) == (1, 1, 1)
    assert summary.exit_code == 1 and summary.failures == ["b.jpg: corrupt"]
    assert RunSummary(processed=3).exit_code == 0
    assert RunSummary(processed=3, interrupted=15).exit_code == 143


def test_progress_log_lines_when_not_a_terminal(tmp_path):
    import io

    stream = io.StringIO()
    progress = Progress("auto", total=20, interval=3600, stream=stream)
    for _ in range(20):
        progress.update("ok")
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10  # one per 10% step, no bar characters
    assert lines[-1].startswith("bgremove: 20/20 images (ok 20, skipped 0, failed 0)")
