"""Shared fixtures: a deterministic fake model and generated product shots.

`ColourBackend` answers like a model that learned "far from white = object": per pixel,
logit = k * (blurred distance of the colour from white - t). The small Gaussian blur makes edges
soft like a real network's, and because every step is a per-pixel or convolution operation the
fake is translation-equivariant (away from image borders): a tiled prediction must match a
direct one, which is what the tiling tests rely on.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from bgremove.inference.preprocess import Preprocessing


class ColourBackend:
    name = "fake-colour"

    def __init__(self, input_size: int = 64, multiple: int = 8, square: bool = False,
                 k: float = 30.0, t: float = 0.25, sigma: float = 1.0, pad_square: bool = True):
        self.preprocessing = Preprocessing(input_size=input_size, multiple=multiple,
                                           square=square, pad_square=pad_square)
        self.k, self.t, self.sigma = k, t, sigma
        self.shapes: list[tuple[int, ...]] = []  # every batch shape predict() was given

    def predict(self, batch: np.ndarray) -> np.ndarray:
        pre = self.preprocessing
        assert batch.dtype == np.float32 and batch.ndim == 4 and batch.shape[1] == 3
        if pre.square:
            assert batch.shape[2:] == (pre.input_size, pre.input_size), batch.shape
        else:
            assert batch.shape[2] % pre.multiple == 0 and batch.shape[3] % pre.multiple == 0
        self.shapes.append(batch.shape)
        std = np.asarray(pre.std, np.float32)[None, :, None, None]
        mean = np.asarray(pre.mean, np.float32)[None, :, None, None]
        rgb = batch * std + mean
        dist = np.sqrt(np.square(1.0 - rgb).sum(axis=1) / 3.0).astype(np.float32)
        out = np.empty((batch.shape[0], 1) + batch.shape[2:], np.float32)
        for i, d in enumerate(dist):
            d = cv2.GaussianBlur(d, (0, 0), self.sigma, borderType=cv2.BORDER_REPLICATE)
            out[i, 0] = self.k * (d - self.t)
        return out


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """onnxruntime graphs that sessions cache (backends/ortcache.py) go to a folder of the test
    session's, not the user's ~/.cache; subprocesses inherit it through the environment."""
    mp = pytest.MonkeyPatch()
    mp.setenv("BGREMOVE_CACHE_DIR", str(tmp_path_factory.mktemp("bgremove-cache")))
    yield
    mp.undo()


@pytest.fixture
def fake_backend() -> ColourBackend:
    return ColourBackend()


@pytest.fixture
def make_backend():
    """ColourBackend factory: make_backend(input_size=..., square=True, ...)."""
    return ColourBackend


def _scene(h: int, w: int, seed: int = 0, colour=(200, 30, 30)) -> tuple[np.ndarray, np.ndarray]:
    """A product shot: an off-white background, a coloured ellipse and a thin bar, soft edges.

    Returns (rgb HWC uint8, true alpha HW float32).
    """
    rng = np.random.default_rng(seed)
    mask = np.zeros((h, w), np.uint8)
    cy, cx = h // 2, w // 2
    cv2.ellipse(mask, (cx, cy), (max(2, w // 4), max(2, h // 3)), 15, 0, 360, 255, -1)
    cv2.rectangle(mask, (w // 8, h // 10), (w // 8 + max(2, w // 60), h - h // 10), 255, -1)
    soft = max(0.6, min(h, w) / 400)
    alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), soft)
    bg = np.full((h, w, 3), 250, np.float32)
    fg = np.empty((h, w, 3), np.float32)
    fg[:] = colour
    fg += rng.normal(0, 6, (h, w, 3)).astype(np.float32)
    rgb = fg * alpha[..., None] + bg * (1.0 - alpha[..., None])
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8), alpha


@pytest.fixture
def scene():
    """scene(h, w, seed=0, colour=(r, g, b)) -> (rgb uint8, alpha float32)."""
    return _scene
