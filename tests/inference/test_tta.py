"""Test-time augmentation: every transform is undone exactly (flips) or closely (scales)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from bgremove.inference.remover import Remover
from bgremove.inference.tta import Transform, transforms, tta_predict


def _smooth(h=37, w=53, seed=0):
    noise = np.random.default_rng(seed).random((h, w)).astype(np.float32)
    return cv2.GaussianBlur(noise, (0, 0), 4)


def test_transform_list():
    ts = transforms((1.0, 1.25))
    assert ts[0] == Transform() and len(ts) == 4
    assert {(t.flip, t.scale) for t in ts} == {(False, 1.0), (True, 1.0), (False, 1.25),
                                               (True, 1.25)}
    assert transforms((1.0,), flip=False) == [Transform()]


def test_flip_undo_is_exact():
    x = np.random.default_rng(1).random((37, 53)).astype(np.float32)
    t = Transform(flip=True)
    assert not np.array_equal(t.apply(x), x)
    assert np.array_equal(t.undo(t.apply(x), x.shape), x)


@pytest.mark.parametrize("scale", [0.75, 1.25, 1.5])
def test_scale_undo_restores_size_and_values(scale):
    x = _smooth()
    for flip in (False, True):
        t = Transform(flip=flip, scale=scale)
        y = t.apply(x)
        assert y.shape == (round(37 * scale), round(53 * scale))
        back = t.undo(y, x.shape)
        assert back.shape == x.shape
        assert np.abs(back - x).max() < 0.02 * (x.max() - x.min())


def test_apply_works_on_images():
    img = np.random.default_rng(2).integers(0, 256, (20, 30, 3), np.uint8)
    out = Transform(flip=True, scale=1.5).apply(img)
    assert out.shape == (30, 45, 3) and out.dtype == np.uint8


def _red(images):
    return [im[..., 0].astype(np.float32) / 255.0 for im in images]


def test_tta_predict_of_an_equivariant_model_matches_plain():
    """A per-pixel 'model' commutes with flips and (nearly) with scaling: TTA must return what
    the plain prediction does. Forgetting to flip back would fail: the image is asymmetric."""
    img = np.zeros((40, 60, 3), np.uint8)
    img[5:25, 3:20, 0] = 255
    img[..., 0] = cv2.GaussianBlur(img[..., 0], (0, 0), 3)
    plain = _red([img])[0]
    merged = tta_predict(_red, [img], transforms((1.0, 1.25)))[0]
    assert merged.shape == plain.shape and merged.dtype == np.float32
    assert np.abs(merged - plain).max() < 0.05
    assert np.abs(merged - plain).mean() < 0.005


def test_tta_predict_is_mean_of_probabilities():
    calls = []

    def predict(images):
        calls.append([im.shape for im in images])
        return [np.full(im.shape[:2], 1.0 if im.shape[1] > 10 else 0.0, np.float32)
                for im in images]

    img = np.zeros((8, 10, 3), np.uint8)
    out = tta_predict(predict, [img, img], transforms((1.0, 1.5)))
    assert len(calls) == 1 and len(calls[0]) == 8  # one call: the backend can batch them all
    assert np.allclose(out[0], 0.5) and np.allclose(out[1], 0.5)


def test_remover_tta_runs_flips_and_scales(make_backend, scene):
    backend = make_backend(input_size=64)
    rgb, _ = scene(70, 90)
    plain = Remover(backend=backend).mask(rgb)
    backend.shapes.clear()
    merged = Remover(backend=backend, tta=True).mask(rgb)
    widths = {s[3] for s in backend.shapes}
    assert len(widths) >= 2  # more than one scale reached the model
    assert merged.shape == plain.shape
    assert np.abs(merged - plain).mean() < 0.02


def test_square_model_tta_uses_flips_only(make_backend):
    backend = make_backend(input_size=64, square=True)
    assert Remover(backend=backend, tta=True).transforms == transforms((1.0,))
