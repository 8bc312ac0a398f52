"""A tiny exported model and a few generated photos to calibrate it on, shared by the int8 tests."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="session")
def model_and_photos(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    from tiny_model import make_tiny_onnx

    folder = tmp_path_factory.mktemp("q")
    _, onnx_path = make_tiny_onnx(folder)
    rng = np.random.default_rng(0)
    photos = folder / "photos"
    photos.mkdir()
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (48, 80, 3), np.uint8)).save(photos / f"{i}.png")
    return onnx_path, photos
