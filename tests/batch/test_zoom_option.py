"""`bgremove run --no-zoom` and `bgremove eval --no-zoom`: turning off the weights' second look
at small objects reaches the worker's Remover and is part of the model key, so switching it
runs the network again instead of reusing masks made the other way."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from PIL import Image
from quick_runs import cli_run_options

from bgremove.batch.driver import run
from bgremove.batch.options import RunOptions
from bgremove.batch.plan import run_keys
from bgremove.batch.worker import WorkerConfig, get_remover
from bgremove.imaging.outputs import OutputOptions
from bgremove.inference import testing
from bgremove.inference.testing import zooming_counting_backend


def _folder(root: Path, n: int = 3) -> None:
    root.mkdir(parents=True)
    for i in range(n):  # a small object: its crop covers well under half the photo
        img = np.full((200, 300, 3), 250, np.uint8)
        img[80:120, 100 + 5 * i:150] = (40, 90, 160)
        Image.fromarray(img).save(root / f"p{i}.jpg", quality=92)


def _opts(src: Path, out: Path, zoom: bool) -> RunOptions:
    return RunOptions(src, out, output=OutputOptions(), backend_factory=zooming_counting_backend,
                      workers=1, progress="quiet", zoom=zoom)


def test_no_zoom_is_part_of_the_model_key_and_the_default_keeps_old_keys(tmp_path):
    on, off = (run_keys(_opts(tmp_path, tmp_path / "o", z), "sha256:x") for z in (True, False))
    assert on.model != off.model and on.full != off.full
    plain = dataclasses.replace(_opts(tmp_path, tmp_path / "o", True), clean=True)
    both = dataclasses.replace(plain, zoom=False)
    assert run_keys(plain, "sha256:x").model != run_keys(both, "sha256:x").model


def test_turning_the_zoom_off_runs_the_network_again(tmp_path):
    _folder(tmp_path / "in")
    testing.NETWORK_PASSES.clear()
    assert run(_opts(tmp_path / "in", tmp_path / "out", True)).processed == 3
    assert sum(testing.NETWORK_PASSES) == 6  # each photo and its crop
    testing.NETWORK_PASSES.clear()
    summary = run(_opts(tmp_path / "in", tmp_path / "out", False))
    assert (summary.processed, summary.reused) == (3, 0)
    assert sum(testing.NETWORK_PASSES) == 3  # one pass per photo: no second look


def test_the_worker_remover_gets_the_setting(tmp_path):
    config = WorkerConfig.from_options(_opts(tmp_path, tmp_path / "o", False))
    assert get_remover(config).zoom == 0.0
    config = WorkerConfig.from_options(_opts(tmp_path, tmp_path / "o", True))
    assert get_remover(config).zoom is None  # the weights file's own share


def test_the_cli_passes_no_zoom_to_the_run(tmp_path, monkeypatch):
    options = cli_run_options(tmp_path, monkeypatch, "--no-zoom")
    assert options.zoom is False
