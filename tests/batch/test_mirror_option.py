"""`bgremove run --mirror` and `bgremove eval --mirror`: the mirror for busy scenes, at the level
the weights store, reaches the worker's Remover and is part of the model key, so switching it
runs the network again instead of reusing masks made the other way; without it, no photo pays
a second call."""

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
from bgremove.inference.testing import mirroring_counting_backend


def _folder(root: Path, busy: int = 2, flat: int = 1) -> None:
    """`busy` photos of a box on a textured backdrop, `flat` of the box on white."""
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(busy + flat):
        img = np.full((200, 300, 3), 235.0)
        if i < busy:
            img += rng.normal(0, 25, (200, 300, 1))
        img[60:140, 90:210] = (40, 90, 160)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(root / f"p{i}.png")


def _opts(src: Path, out: Path, mirror: bool) -> RunOptions:
    return RunOptions(src, out, output=OutputOptions(), backend_factory=mirroring_counting_backend,
                      workers=1, progress="quiet", mirror=mirror)


def test_mirror_is_part_of_the_model_key_apart_from_no_zoom(tmp_path):
    on, off = (_opts(tmp_path, tmp_path / "o", m) for m in (True, False))
    keys = [run_keys(o, "sha256:x") for o in (on, off)]
    assert keys[0].model != keys[1].model and keys[0].full != keys[1].full
    assert RunOptions(tmp_path, tmp_path / "o").mirror is False  # off unless asked for
    no_zoom = dataclasses.replace(off, zoom=False)
    both = dataclasses.replace(no_zoom, mirror=True)
    assert len({run_keys(o, "sha256:x").model for o in (on, off, no_zoom, both)}) == 4


def test_with_mirror_a_busy_scene_costs_two_passes_and_without_one(tmp_path):
    _folder(tmp_path / "in")
    testing.NETWORK_PASSES.clear()
    assert run(_opts(tmp_path / "in", tmp_path / "out", False)).processed == 3
    assert sum(testing.NETWORK_PASSES) == 3  # the weights' level alone turns nothing on
    testing.NETWORK_PASSES.clear()
    summary = run(_opts(tmp_path / "in", tmp_path / "out", True))
    assert (summary.processed, summary.reused) == (3, 0)
    assert sum(testing.NETWORK_PASSES) == 5  # the two busy scenes twice, the studio shot once


def test_the_worker_remover_gets_the_setting(tmp_path):
    config = WorkerConfig.from_options(_opts(tmp_path, tmp_path / "o", False))
    assert get_remover(config).mirror_busy == 0.0
    config = WorkerConfig.from_options(_opts(tmp_path, tmp_path / "o", True))
    assert get_remover(config).mirror_busy is None  # the weights file's own level


def test_the_cli_passes_mirror_to_the_run(tmp_path, monkeypatch):
    options = cli_run_options(tmp_path, monkeypatch, "--mirror")
    assert options.mirror is True
    assert cli_run_options(tmp_path, monkeypatch).mirror is False
