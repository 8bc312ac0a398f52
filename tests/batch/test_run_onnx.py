"""`run` with a real (tiny) ONNX model in worker processes: weights hashing and loading."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from bgremove.batch.driver import run
from bgremove.batch.options import RunOptions
from bgremove.imaging.outputs import OutputOptions

pytest.importorskip("torch", reason="exporting the tiny test model needs torch")


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory):
    from tiny_model import make_tiny_onnx

    return make_tiny_onnx(tmp_path_factory.mktemp("tiny"))[1]


def _images(root, n=4):
    rng = np.random.default_rng(0)
    root.mkdir(parents=True)
    for i in range(n):
        img = np.full((90 + 10 * i, 120, 3), 250, np.uint8)
        img[20:70, 30:90] = rng.integers(0, 255, 3)
        Image.fromarray(img).save(root / f"p{i}.jpg")


@pytest.mark.slow
def test_real_onnx_model_in_two_workers(tmp_path, tiny_onnx):
    _images(tmp_path / "in")
    output = OutputOptions(mask=True)
    kw = dict(weights=str(tiny_onnx), output=output, progress="quiet", device="cpu")
    one = run(RunOptions(tmp_path / "in", tmp_path / "o1", workers=1, threads=1, **kw))
    two = run(RunOptions(tmp_path / "in", tmp_path / "o2", workers=2, **kw))
    assert one.processed == two.processed == 4 and one.failed == two.failed == 0
    for i in range(4):
        a = np.asarray(Image.open(tmp_path / f"o1/p{i}.mask.png"), np.int16)
        b = np.asarray(Image.open(tmp_path / f"o2/p{i}.mask.png"), np.int16)
        assert np.abs(a - b).max() <= 1  # same model, one intra-op thread each
    # the manifest keys on the weights' content, not their path: nothing to redo
    copy = tmp_path / "copy.onnx"
    copy.write_bytes(tiny_onnx.read_bytes())
    kw["weights"] = str(copy)
    again = run(RunOptions(tmp_path / "in", tmp_path / "o1", workers=2, **kw))
    assert (again.processed, again.skipped) == (0, 4)
