"""Edge sharpening: the map itself, where the Remover applies it, and the files that carry it."""

from __future__ import annotations

import numpy as np
import pytest

from bgremove.batch.flags import mask_quality
from bgremove.inference.preprocess import Preprocessing
from bgremove.inference.remover import Remover
from bgremove.inference.sharpen import band, sharpen
from bgremove.inference.testing import FakeBackend
from bgremove.modeltools.metrics import binarise


def _ramp(h: int = 131, w: int = 77) -> np.ndarray:
    return np.random.default_rng(0).random((h, w), dtype=np.float32)


@pytest.mark.parametrize("s", [0.5, 1.5, 2.0, 2.5, 3.0, 3.5, 2.25, 4.5])
def test_sharpen_is_the_scaled_logit(s):
    p = _ramp()
    q = sharpen(p, s)
    p64 = p.astype(np.float64)
    expected = p64**s / (p64**s + (1 - p64) ** s)
    np.testing.assert_allclose(q, expected, atol=2e-6)
    assert q.dtype == np.float32 and q.shape == p.shape


@pytest.mark.parametrize("s", [1.5, 2.0, 2.5, 3.0])
def test_sharpen_keeps_zero_half_one_and_the_order(s):
    p = np.linspace(0, 1, 1001, dtype=np.float32).reshape(7, 143)
    q = sharpen(p, s)
    flat = q.ravel()
    assert flat[0] == 0.0 and flat[-1] == 1.0 and flat[500] == 0.5
    assert np.all(np.diff(flat) >= 0)
    mid = (p > 0) & (p < 1) & (p != 0.5)
    assert np.all(np.abs(q[mid] - 0.5) > np.abs(p[mid] - 0.5))  # pushed away from 0.5


def test_sharpen_leaves_the_half_threshold_mask_alone():
    p = _ramp(600, 401)  # several strips, the last one short
    p[::7, ::5] = 0.5  # exact ties go the same way
    np.testing.assert_array_equal(binarise(sharpen(p, 2.0)), binarise(p))


def test_factor_one_is_a_no_op_and_bad_input_is_refused():
    p = _ramp()
    assert sharpen(p, 1.0) is p
    with pytest.raises(ValueError):
        sharpen(p, 0.0)
    with pytest.raises(ValueError):
        sharpen(p[..., None], 2.0)
    tiny = np.array([[0.25]], np.float32)  # OpenCV would read a 1x1 array as a scalar
    assert sharpen(tiny, 2.0)[0, 0] == pytest.approx(0.1)


def test_band_maps_an_interval_as_the_pixels_are_mapped():
    lo, hi = band(0.1, 0.9, 2.0)
    q = sharpen(np.array([[0.1, 0.9]], np.float32), 2.0)
    assert (lo, hi) == pytest.approx((float(q[0, 0]), float(q[0, 1])))
    assert band(0.1, 0.9, 1.0) == (0.1, 0.9)


def test_uncertain_flag_judges_the_networks_probabilities():
    ghost = np.zeros((256, 256), np.float32)
    ghost[96:160, 96:160] = 1.0
    ghost[:, :40] = 0.2  # a faint crowd along one side: unsure, not object
    assert "uncertain_mask" in mask_quality(ghost)[1]
    sharp = sharpen(ghost, 2.0)  # 0.2 becomes ~0.06: below 0.1, but still the same ghost
    assert "uncertain_mask" not in mask_quality(sharp)[1]
    assert mask_quality(sharp, 2.0) == mask_quality(ghost)


class _Sharpened(FakeBackend):
    def __init__(self, s: float) -> None:
        super().__init__(input_size=64)
        self.preprocessing = Preprocessing(input_size=64, multiple=32, sharpen=s)


def test_remover_applies_the_weights_factor_after_upsampling():
    rgb = np.full((150, 200, 3), 255, np.uint8)
    rgb[40:110, 50:150] = (200, 120, 40)
    plain = Remover(backend=_Sharpened(1.0)).mask(rgb)
    sharp = Remover(backend=_Sharpened(2.0)).mask(rgb)
    assert 0.02 < float(((plain > 0.05) & (plain < 0.95)).mean())  # soft edges to sharpen
    np.testing.assert_allclose(sharp, sharpen(plain, 2.0), atol=1e-6)


def test_preprocessing_reads_old_files_as_unsharpened():
    assert Preprocessing.from_dict({"input_size": 320}).sharpen == 1.0
    pre = Preprocessing.from_json(Preprocessing(sharpen=2).to_json())
    assert pre.sharpen == 2.0 and isinstance(pre.sharpen, float)
