"""`bgremove run --clean`: the clean-up reaches the worker's Remover and is part of the model key,
so turning it on or off runs the network again instead of reusing cached masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from bgremove.batch.driver import run
from bgremove.batch.options import RunOptions
from bgremove.batch.plan import run_keys
from bgremove.batch.worker import WorkerConfig, get_remover
from bgremove.imaging.outputs import OutputOptions
from bgremove.inference import testing
from bgremove.inference.testing import counting_backend


def _folder(root: Path, n: int = 3) -> None:
    root.mkdir(parents=True)
    for i in range(n):
        img = np.full((80, 100, 3), 250, np.uint8)
        img[20:60, 20 + 5 * i:80] = (40, 90, 160)
        Image.fromarray(img).save(root / f"p{i}.jpg", quality=92)


def _opts(src: Path, out: Path, clean: bool) -> RunOptions:
    return RunOptions(src, out, output=OutputOptions(), backend_factory=counting_backend,
                      workers=1, progress="quiet", clean=clean)


def test_clean_is_part_of_the_model_key_and_off_keeps_old_keys(tmp_path):
    off, on = (run_keys(_opts(tmp_path, tmp_path / "o", c), "sha256:x") for c in (False, True))
    assert off.model != on.model and off.full != on.full


def test_turning_clean_on_runs_the_network_again(tmp_path):
    _folder(tmp_path / "in")
    testing.NETWORK_PASSES.clear()
    assert run(_opts(tmp_path / "in", tmp_path / "out", False)).processed == 3
    assert len(testing.NETWORK_PASSES) == 3
    testing.NETWORK_PASSES.clear()
    summary = run(_opts(tmp_path / "in", tmp_path / "out", True))
    assert (summary.processed, summary.reused, len(testing.NETWORK_PASSES)) == (3, 0, 3)


def test_the_worker_remover_gets_the_cleanup(tmp_path):
    config = WorkerConfig.from_options(_opts(tmp_path, tmp_path / "o", True))
    assert get_remover(config).cleanup is not None
    config = WorkerConfig.from_options(_opts(tmp_path, tmp_path / "o", False))
    assert get_remover(config).cleanup is None
