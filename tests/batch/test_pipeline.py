"""`run(options)`: outputs, resume, lock, bad inputs, parallel determinism, stopping."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from quick_runs import quick_options as _opts

from bgremove.batch.driver import run
from bgremove.batch.lock import RunLock
from bgremove.batch.options import RunOptions
from bgremove.errors import ConfigError
from bgremove.imaging.outputs import OutputOptions
from bgremove.inference.testing import (
    broken_backend,
    crash_on_red_backend,
    fake_backend,
)


def _product(path: Path, w: int = 96, h: int = 72, color=(200, 30, 30), box=None) -> Path:
    """A coloured rectangle on white, like a product shot."""
    img = np.full((h, w, 3), 255, np.uint8)
    x0, y0, x1, y1 = box or (w // 4, h // 4, 3 * w // 4, 3 * h // 4)
    img[y0:y1, x0:x1] = color
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path, quality=95)
    return path


def _folder(root: Path, n: int = 4) -> list[str]:
    rels = [f"img{i}.jpg" if i % 2 else f"sub/dir/img{i}.png" for i in range(n)]
    for i, rel in enumerate(rels):
        _product(root / rel, 80 + 8 * i, 64 + 4 * i, color=(30 * i % 255, 90, 160))
    return rels


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*"))}


def _report(path: Path) -> dict[str, dict]:
    return {d["path"]: d for d in map(json.loads, path.read_text().splitlines())}


def test_run_mirrors_tree_and_never_writes_into_input(tmp_path):
    rels = _folder(tmp_path / "in")
    (tmp_path / "in/notes.txt").write_text("not an image")
    before = _snapshot(tmp_path / "in")
    summary = run(_opts(tmp_path))
    assert (summary.processed, summary.failed, summary.ignored, summary.exit_code) == (4, 0, 1, 0)
    for rel in rels:
        cutout = Image.open(tmp_path / "out" / Path(rel).with_suffix(".png"))
        assert cutout.mode == "RGBA"
        alpha = np.asarray(cutout)[..., 3]
        assert alpha[alpha.shape[0] // 2, alpha.shape[1] // 2] > 240 and alpha[0, 0] < 16
    assert _snapshot(tmp_path / "in") == before


def test_output_options_mask_composite_crop(tmp_path):
    _product(tmp_path / "in/shoe.jpg", 100, 80, box=(40, 30, 60, 50))
    output = OutputOptions(mask=True, bg_color="#00ff00", crop=True, margin=2)
    run(_opts(tmp_path, output=output))
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "shoe.jpg", "shoe.mask.png", "shoe.png"]
    w, h = Image.open(out / "shoe.png").size
    assert 20 <= w <= 26 and 20 <= h <= 26  # cropped to the 20x20 box plus the margin
    comp = np.asarray(Image.open(out / "shoe.jpg"))
    assert comp[0, 0, 1] > 200 and comp[0, 0, 0] < 60  # background became green
    assert Image.open(out / "shoe.mask.png").mode == "L"


def test_cutout_format_and_png_compression(tmp_path):
    _product(tmp_path / "in/a.jpg", 200, 160)
    run(_opts(tmp_path, output=OutputOptions(png_compression=0)))
    size0 = (tmp_path / "out/a.png").stat().st_size
    run(_opts(tmp_path, output=OutputOptions(png_compression=9)))
    assert (tmp_path / "out/a.png").stat().st_size < size0
    run(_opts(tmp_path, output=OutputOptions(cutout_format="webp")))
    assert Image.open(tmp_path / "out/a.webp").format == "WEBP"


def test_rerun_skips_unchanged_and_redoes_changed(tmp_path):
    rels = _folder(tmp_path / "in")
    report = tmp_path / "report.jsonl"
    assert run(_opts(tmp_path)).processed == 4
    second = run(_opts(tmp_path, report=report))
    assert (second.processed, second.skipped, second.exit_code) == (0, 4, 0)
    assert {d["status"] for d in _report(report).values()} == {"skipped"}
    # a newer mtime, a different size, and a deleted output: exactly those three are redone
    st = (tmp_path / "in" / rels[0]).stat()
    os.utime(tmp_path / "in" / rels[0], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    _product(tmp_path / "in" / rels[1], 50, 40)
    (tmp_path / "out" / Path(rels[2]).with_suffix(".png")).unlink()
    third = run(_opts(tmp_path, report=report))
    assert (third.processed, third.skipped) == (3, 1)
    assert _report(report)[rels[3]]["status"] == "skipped"
    assert run(_opts(tmp_path, force=True)).processed == 4


def test_changed_options_reprocess(tmp_path):
    _folder(tmp_path / "in", 2)
    run(_opts(tmp_path))
    assert run(_opts(tmp_path, output=OutputOptions(mask=True))).processed == 2
    assert run(_opts(tmp_path, output=OutputOptions(mask=True))).skipped == 2
    assert run(_opts(tmp_path, output=OutputOptions(mask=True), tta=True)).processed == 2
    assert (tmp_path / "out/img1.mask.png").exists()


def test_bad_files_are_reported_and_skipped(tmp_path):
    good = _folder(tmp_path / "in", 3)
    bad = tmp_path / "in/bad"
    bad.mkdir()
    (bad / "empty.jpg").write_bytes(b"")
    (bad / "text.png").write_text("definitely not a png")
    data = (tmp_path / "in" / good[1]).read_bytes()
    (bad / "truncated.jpg").write_bytes(data[: len(data) // 3])
    _product(bad / "huge.png", 400, 300)
    report = tmp_path / "r.jsonl"
    summary = run(_opts(tmp_path, report=report, max_pixels=200 * 150))
    assert (summary.processed, summary.failed, summary.exit_code) == (3, 4, 1)
    lines = _report(report)
    for name in ("empty.jpg", "text.png", "truncated.jpg", "huge.png"):
        assert lines[f"bad/{name}"]["status"] == "failed" and lines[f"bad/{name}"]["error"]
        assert not list((tmp_path / "out/bad").glob(Path(name).stem + ".*"))
    assert "0 bytes" in lines["bad/empty.jpg"]["error"]
    assert "pixels" in lines["bad/huge.png"]["error"]
    for rel in good:
        assert lines[rel]["status"] == "ok"
        assert (tmp_path / "out" / Path(rel).with_suffix(".png")).exists()
    # failures are not recorded: the next run retries them (and only them)
    again = run(_opts(tmp_path, max_pixels=200 * 150))
    assert (again.processed, again.skipped, again.failed) == (0, 3, 4)


def test_fail_fast_stops_at_first_failure(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in/a_empty.jpg").write_bytes(b"")
    _folder(tmp_path / "in", 4)
    summary = run(_opts(tmp_path, fail_fast=True))
    assert summary.failed == 1 and summary.stopped_early and summary.exit_code == 1
    assert summary.processed == 0


def test_report_fields_and_quality_flags(tmp_path):
    _product(tmp_path / "in/blank.jpg", 80, 60, color=(255, 255, 255))
    _product(tmp_path / "in/full.jpg", 80, 60, box=(0, 0, 80, 60))
    _product(tmp_path / "in/edge.jpg", 80, 60, box=(40, 10, 80, 50))
    _product(tmp_path / "in/fine.jpg", 80, 60)
    report = tmp_path / "r.jsonl"
    run(_opts(tmp_path, report=report))
    lines = _report(report)
    assert lines["blank.jpg"]["flags"] == ["empty_mask"]
    assert lines["full.jpg"]["flags"] == ["full_frame"]
    assert lines["edge.jpg"]["flags"] == ["touches_border"]
    fine = lines["fine.jpg"]
    assert fine["flags"] == [] and fine["status"] == "ok" and fine["error"] is None
    assert fine["coverage"] == pytest.approx(0.25, abs=0.05)
    assert fine["ms"] > 0 and fine["outputs"] == ["fine.png"]


def test_stop_then_resume_processes_only_the_rest(tmp_path):
    _folder(tmp_path / "in", 6)
    first = run(_opts(tmp_path, _stop_after=2))
    assert first.interrupted == signal.SIGTERM and first.exit_code == 143
    assert first.processed == 2
    second = run(_opts(tmp_path))
    assert (second.processed, second.skipped, second.exit_code) == (4, 2, 0)


def test_lock_blocks_second_run(tmp_path):
    _folder(tmp_path / "in", 1)
    (tmp_path / "out").mkdir()
    with RunLock(tmp_path / "out"):
        with pytest.raises(ConfigError, match=f"pid {os.getpid()}"):
            run(_opts(tmp_path))
    assert run(_opts(tmp_path)).processed == 1


def test_out_inside_in_refused_before_anything_is_written(tmp_path):
    _folder(tmp_path / "in", 1)
    with pytest.raises(ConfigError):
        run(RunOptions(tmp_path / "in", tmp_path / "in/out", backend_factory=fake_backend))
    assert not (tmp_path / "in/out").exists()


def test_missing_weights_is_a_config_error(tmp_path):
    _folder(tmp_path / "in", 1)
    with pytest.raises(ConfigError, match="not found"):
        run(RunOptions(tmp_path / "in", tmp_path / "out", weights=str(tmp_path / "no.onnx"),
                       progress="quiet"))


def test_nothing_to_do_loads_no_model(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in/readme.txt").write_text("x")
    summary = run(_opts(tmp_path, backend_factory=broken_backend, workers=2))
    assert (summary.processed, summary.ignored, summary.exit_code) == (0, 1, 0)


@pytest.mark.slow
def test_workers_give_identical_masks(tmp_path):
    _folder(tmp_path / "in", 6)
    output = OutputOptions(mask=True)
    one = run(RunOptions(tmp_path / "in", tmp_path / "w1", output=output, workers=1,
                         backend_factory=fake_backend, progress="quiet"))
    two = run(RunOptions(tmp_path / "in", tmp_path / "w2", output=output, workers=2,
                         backend_factory=fake_backend, progress="quiet"))
    gpu = run(RunOptions(tmp_path / "in", tmp_path / "gpu", output=output, device="cuda",
                         batch_size=4, workers=2, backend_factory=fake_backend, progress="quiet"))
    assert one.processed == two.processed == gpu.processed == 6
    masks = sorted((tmp_path / "w1").rglob("*.mask.png"))
    assert len(masks) == 6
    for m in masks:
        rel = m.relative_to(tmp_path / "w1")
        assert m.read_bytes() == (tmp_path / "w2" / rel).read_bytes()
        assert m.read_bytes() == (tmp_path / "gpu" / rel).read_bytes()


@pytest.mark.slow
def test_worker_config_error_stops_the_run(tmp_path):
    _folder(tmp_path / "in", 2)
    with pytest.raises(ConfigError, match="broken"):
        run(_opts(tmp_path, backend_factory=broken_backend, workers=2))


@pytest.mark.slow
def test_dead_worker_fails_its_images_not_the_run(tmp_path):
    _product(tmp_path / "in/a_red.png", 64, 64, color=(255, 0, 0), box=(0, 0, 64, 64))
    _folder(tmp_path / "in", 8)
    report = tmp_path / "r.jsonl"
    summary = run(_opts(tmp_path, backend_factory=crash_on_red_backend, workers=2,
                        report=report))
    assert summary.processed + summary.failed == 9 and summary.processed >= 4
    error = _report(report)["a_red.png"]["error"]
    assert "worker process died with exit code {3}" in error  # os._exit(3) in the backend
    assert summary.exit_code == 1
    assert _child_workers() == []  # the survivor of the broken pool was not left behind


def test_unusual_file_names(tmp_path):
    _product(tmp_path / "in/café ü.jpg")
    latin1 = os.fsdecode(b"caf\xe9-latin1.jpg")  # not valid UTF-8: surrogate-escaped
    _product(tmp_path / "in" / latin1)
    report = tmp_path / "r.jsonl"
    assert run(_opts(tmp_path, report=report)).processed == 2
    assert (tmp_path / "out/café ü.png").exists()
    assert os.path.exists(os.path.join(tmp_path, "out", os.fsdecode(b"caf\xe9-latin1.png")))
    assert "café ü.jpg" in _report(report)
    assert run(_opts(tmp_path)).skipped == 2


def _child_workers() -> list[str]:
    """Command lines of this process's children that are pool workers."""
    me, found = os.getpid(), []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue  # exited meanwhile
        if ppid == me and "resource_tracker" not in cmd:
            found.append(cmd)
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the process table from /proc")
def test_no_worker_process_outlives_a_run(tmp_path):
    """After a run returns no worker may be left (a cron job or a service calling run() would
    pile up workers holding a model)."""
    _folder(tmp_path / "in", 4)
    summary = run(_opts(tmp_path, workers=2))
    assert summary.processed == 4
    assert _child_workers() == []


@pytest.mark.slow
def test_a_script_without_a_main_guard_runs_once(tmp_path):
    """Worker processes are started without re-running the caller's main script: a script that
    calls run() at its top level, with no `if __name__ == "__main__":`, works, and its
    top-level code runs once, not once more in every worker."""
    import subprocess
    import sys

    _folder(tmp_path / "in", 6)
    script = tmp_path / "catalog.py"
    script.write_text(
        "import json, os\n"
        "from bgremove.batch.driver import run\n"
        "from bgremove.batch.options import RunOptions\n"
        "from bgremove.inference.testing import fake_backend\n"
        f"with open({str(tmp_path / 'starts')!r}, 'a') as f:\n"
        "    f.write('start\\n')\n"
        f"s = run(RunOptions({str(tmp_path / 'in')!r}, {str(tmp_path / 'out')!r}, workers=2,\n"
        "                    backend_factory=fake_backend, progress='quiet'))\n"
        "print(json.dumps([s.processed, s.failed]))\n")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [6, 0]
    assert (tmp_path / "starts").read_text() == "start\n"
