"""normalise: what the network is given, bit for bit, whatever the layout work behind it."""

from __future__ import annotations

import numpy as np
import pytest

from bgremove.inference.preprocess import (
    DEFAULT_PREPROCESSING,
    IMAGENET_MEAN,
    IMAGENET_STD,
    Preprocessing,
    normalise,
)

PRESETS = {
    "ours": DEFAULT_PREPROCESSING,
    "imagenet": Preprocessing(mean=IMAGENET_MEAN, std=IMAGENET_STD),
    "scale_by_max": Preprocessing(mean=IMAGENET_MEAN, std=IMAGENET_STD, scale_by_max=True),
}


def _reference(images: np.ndarray, pre: Preprocessing) -> np.ndarray:
    """Channel by channel, in float32, in the documented order: scale, minus mean, over std."""
    x = images[None] if images.ndim == 3 else images
    peak = np.float32(max(float(x.max()), 1e-6))
    out = np.empty((x.shape[0], 3) + x.shape[1:3], np.float32)
    for c in range(3):
        plane = x[..., c].astype(np.float32)
        plane = plane / peak if pre.scale_by_max else plane * np.float32(1.0 / 255.0)
        out[:, c] = (plane - np.float32(pre.mean[c])) / np.float32(pre.std[c])
    return out


@pytest.mark.parametrize("name", PRESETS)
@pytest.mark.parametrize("shape", [(240, 320, 3), (3, 97, 61, 3), (1, 1, 3)])
def test_normalise_gives_planar_float32_equal_to_the_per_channel_formula(name, shape):
    images = np.random.default_rng(0).integers(0, 256, shape, np.uint8)
    out = normalise(images, PRESETS[name])
    assert out.dtype == np.float32 and out.flags.c_contiguous
    assert np.array_equal(out, _reference(images, PRESETS[name]))
