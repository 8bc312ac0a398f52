"""Re-rendering from the mask cache: 0 network passes when only rendering options change, the
same bytes as a fresh run, and the network again whenever the mask could differ."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bgremove.batch import maskcache
from bgremove.batch.driver import run
from bgremove.batch.manifest import Manifest, options_key
from bgremove.batch.options import RunOptions
from bgremove.batch.plan import run_keys
from bgremove.imaging.outputs import OutputOptions
from bgremove.inference import testing
from bgremove.inference.testing import counting_backend, fake_backend


def _folder(root: Path, n: int = 4) -> None:
    for i in range(n):
        img = np.full((90 + 10 * i, 120, 3), 255, np.uint8)
        img[20:70, 25 + 5 * i:95] = (30 * i % 255, 90, 160)
        path = root / ("sub" if i % 2 else "") / f"p{i}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(path, quality=92)


def _opts(src: Path, out: Path, **output) -> RunOptions:
    output.setdefault("bg_color", "white")
    return RunOptions(src, out, output=OutputOptions(**output), backend_factory=counting_backend,
                      workers=1, progress="quiet", report=out.parent / f"{out.name}.jsonl")


def _passes(options: RunOptions):
    testing.NETWORK_PASSES.clear()
    summary = run(options)
    return summary, len(testing.NETWORK_PASSES)


def _outputs(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and not any(x.startswith(".") for x in p.relative_to(out).parts)}


def _masks(out: Path) -> list[Path]:
    return sorted((out / maskcache.FOLDER).rglob("*.png"))


def test_jpeg_quality_change_runs_the_network_zero_times(tmp_path):
    _folder(tmp_path / "in")
    first, passes = _passes(_opts(tmp_path / "in", tmp_path / "out", jpeg_quality=95))
    assert (first.processed, passes) == (4, 4)
    assert len(_masks(tmp_path / "out")) == 4
    again, passes = _passes(_opts(tmp_path / "in", tmp_path / "out", jpeg_quality=80))
    assert (again.processed, again.reused, passes) == (4, 4, 0)
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert {x["mask"] for x in lines} == {"cache"}
    # Byte for byte what a fresh run with those options writes (coverage and flags too).
    fresh, passes = _passes(_opts(tmp_path / "in", tmp_path / "fresh", jpeg_quality=80))
    assert passes == 4
    assert _outputs(tmp_path / "out") == _outputs(tmp_path / "fresh")
    fresh_lines = [json.loads(x) for x in (tmp_path / "fresh.jsonl").read_text().splitlines()]
    strip = ("ms", "mask")
    assert [{k: v for k, v in x.items() if k not in strip} for x in lines] == \
        [{k: v for k, v in x.items() if k not in strip} for x in fresh_lines]


@pytest.mark.parametrize("change", [dict(crop=True, margin="5%"), dict(canvas="300", fill=0.9),
                                    dict(bg_color="#102030", composite_format="png"),
                                    dict(cutout_format="webp", mask=True)])
def test_every_rendering_option_is_a_rerender(tmp_path, change):
    _folder(tmp_path / "in", 2)
    assert _passes(_opts(tmp_path / "in", tmp_path / "out"))[1] == 2
    summary, passes = _passes(_opts(tmp_path / "in", tmp_path / "out", **change))
    assert (summary.processed, passes) == (2, 0)
    _passes(_opts(tmp_path / "in", tmp_path / "fresh", **change))
    assert _outputs(tmp_path / "out") == {**_outputs(tmp_path / "out"), **_outputs(tmp_path / "fresh")}


def test_what_changes_the_mask_runs_the_network(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    _folder(src, 3)
    _passes(_opts(src, out))
    assert _passes(_opts(src, out, threshold=0.5))[1] == 3  # the mask itself differs
    assert _passes(_opts(src, out, threshold=0.5, jpeg_quality=70))[1] == 0
    os.utime(src / "p0.jpg", ns=(1, 1))  # a changed file
    summary, passes = _passes(_opts(src, out, threshold=0.5, jpeg_quality=70))
    assert (summary.processed, passes) == (1, 1)
    assert len(_masks(out)) == 3  # the image's previous mask file went with it
    forced = _passes(RunOptions(src, out, output=OutputOptions(bg_color="white", threshold=0.5,
                                                               jpeg_quality=70),
                                backend_factory=counting_backend, workers=1, progress="quiet",
                                force=True))
    assert forced[1] == 3  # --force: the network, whatever the cache holds


def test_a_damaged_cache_file_falls_back_to_the_network(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    _folder(src, 2)
    _passes(_opts(src, out))
    first = _masks(out)[0]
    first.write_bytes(first.read_bytes()[:50])  # truncated
    summary, passes = _passes(_opts(src, out, jpeg_quality=70))
    assert (summary.processed, summary.reused, passes) == (2, 1, 1)
    _passes(_opts(src, tmp_path / "fresh", jpeg_quality=70))
    assert _outputs(out) == _outputs(tmp_path / "fresh")


@pytest.mark.parametrize("damage", ["zeros", "empty", "short"])
def test_a_file_a_power_cut_left_behind_is_never_read(tmp_path, damage):
    # store() skips the fsync: after a power cut the renamed file may be empty, cut short or
    # hold zeros where its blocks never reached the disk; load must refuse each of them.
    rng = np.random.default_rng(0)
    mask = (rng.random((120, 160)) * 255).astype(np.uint8)
    path = tmp_path / "m.png"
    assert maskcache.store(str(path), mask)
    data = bytearray(path.read_bytes())
    if damage == "zeros":
        mid = len(data) // 2
        data[mid - 300 : mid + 300] = bytes(600)
    path.write_bytes(b"" if damage == "empty" else bytes(data[: len(data) // 2]
                                                          if damage == "short" else data))
    assert maskcache.load(str(path), mask.shape) is None


def test_no_mask_cache_writes_none_and_reads_none(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    _folder(src, 2)
    options = _opts(src, out)
    options.mask_cache = False
    _passes(options)
    assert not (out / maskcache.FOLDER).exists()
    options = _opts(src, out, jpeg_quality=70)
    assert _passes(options)[1] == 2


def test_a_cache_file_is_only_ever_read_for_its_own_input_and_model(tmp_path):
    a = maskcache.cache_path("/o", "x.jpg", 10, 20, "model-a")
    assert a != maskcache.cache_path("/o", "x.jpg", 10, 21, "model-a")
    assert a != maskcache.cache_path("/o", "x.jpg", 10, 20, "model-b")
    assert a != maskcache.cache_path("/o", "y.jpg", 10, 20, "model-a")
    path = str(tmp_path / "m.png")
    assert maskcache.store(path, np.full((5, 7), 200, np.uint8))
    assert maskcache.load(path, (5, 7)) is not None and maskcache.load(path, (7, 5)) is None


def test_the_full_key_is_unchanged_so_old_manifests_stay_valid():
    # The formula of the version before the split: asdict(OutputOptions) of its fields.
    old_output = {"cutout": True, "mask": False, "bg_color": None, "composite_format": "jpg",
                  "cutout_format": "png", "crop": False, "margin": 0, "png_compression": 1,
                  "jpeg_quality": 95, "decontaminate": True, "threshold": None}
    options = RunOptions("in", "out", backend_factory=fake_backend)
    old = options_key({"v": 1, "output": old_output, "tta": False, "preset": None, "model": "m"})
    assert run_keys(options, "m").full == old


def test_manifest_keeps_coverage_flags_and_failures(tmp_path):
    with Manifest(tmp_path) as m:
        m.record_failure("a.jpg", 1, 2, "broken")
        assert m.failure("a.jpg").error == "broken"
        m.record("a.jpg", 1, 2, "k", ["a.png"], [5], "mk", 0.25, ["touches_border"])
        assert m.failure("a.jpg") is None  # a success forgets the failure
        row = m.row("a.jpg")
        assert (row.model_key, row.coverage, row.flags) == ("mk", 0.25, ["touches_border"])
        m.set_meta("in_dir", "/x")
    reader = Manifest.open_readonly(tmp_path)
    assert reader.meta("in_dir") == "/x" and [r.rel for r in reader.rows()] == ["a.jpg"]
    reader.close()
    assert Manifest.open_readonly(tmp_path / "nothing") is None


def test_a_killed_runs_half_written_masks_are_removed(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    _folder(src, 2)
    _passes(_opts(src, out))
    folder = _masks(out)[0].parent
    stale = folder / f".{_masks(out)[0].name}.abcd1234.tmp"  # a worker killed while writing
    stale.write_bytes(b"half")
    summary, passes = _passes(_opts(src, out, jpeg_quality=70))
    assert (summary.processed, passes) == (2, 0) and not stale.exists()
    assert not list(out.rglob("*.tmp"))
