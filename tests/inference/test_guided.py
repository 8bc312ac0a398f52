"""Guided filter: the closed form matches per-window least squares, edges move onto the photo's,
flat and semi-transparent regions keep their alpha, and the Remover runs it when a file asks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bgremove.inference.guided import coefficients, guided_filter
from bgremove.inference.preprocess import Preprocessing
from bgremove.inference.remover import Remover
from bgremove.inference.testing import FakeBackend


def two_colours(h: int = 40, w: int = 80, edge: int = 40) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    img[:, :edge] = (200, 40, 30)
    img[:, edge:] = (30, 60, 190)
    return img


def test_radius_zero_returns_the_mask_itself() -> None:
    p = np.random.default_rng(0).random((20, 30), dtype=np.float32)
    assert guided_filter(two_colours(20, 30, 15), p, 0) is p


def test_closed_form_matches_per_window_least_squares() -> None:
    rng = np.random.default_rng(1)
    h, w, r, eps = 9, 11, 1, 1e-2
    guide = rng.random((h, w, 3), dtype=np.float32)
    p = rng.random((h, w), dtype=np.float32)
    planes = coefficients([np.ascontiguousarray(guide[..., c]) for c in range(3)], p, r, eps)
    a, b = np.stack(planes[:3], -1), planes[3]
    # Reference: each window's ridge regression solved directly, then the coefficients of the
    # windows covering a pixel averaged; borders reflected as cv2's BORDER_REFLECT does.
    def pad(x: np.ndarray) -> np.ndarray:
        return np.pad(x, ((r, r), (r, r)) + ((0, 0),) * (x.ndim - 2), mode="symmetric")

    gp, pp = pad(guide.astype(np.float64)), pad(p.astype(np.float64))
    wa, wb = np.zeros((h, w, 3)), np.zeros((h, w))
    for y in range(h):
        for x in range(w):
            g = gp[y : y + 2 * r + 1, x : x + 2 * r + 1].reshape(-1, 3)
            v = pp[y : y + 2 * r + 1, x : x + 2 * r + 1].reshape(-1)
            cov = np.cov(g.T, bias=True) + eps * np.eye(3)
            wa[y, x] = np.linalg.solve(cov, ((g - g.mean(0)) * (v - v.mean())[:, None]).mean(0))
            wb[y, x] = v.mean() - wa[y, x] @ g.mean(0)
    pa, pb = pad(wa), pad(wb)
    for y in range(h):
        for x in range(w):
            win = (slice(y, y + 2 * r + 1), slice(x, x + 2 * r + 1))
            np.testing.assert_allclose(a[y, x], pa[win].mean((0, 1)), atol=2e-4)
            np.testing.assert_allclose(b[y, x], pb[win].mean(), atol=2e-4)


def test_a_shifted_soft_edge_moves_onto_the_colour_edge() -> None:
    img = two_colours(edge=40)
    truth = np.zeros((40, 80), bool)
    truth[:, :40] = True
    x = np.arange(80, dtype=np.float32)
    p = np.broadcast_to(1.0 / (1.0 + np.exp((x - 41.0) / 2.0)), (40, 80)).astype(np.float32)
    assert np.count_nonzero((p > 0.5) != truth) == 40  # one column off
    q = guided_filter(img, p, 3)
    assert np.array_equal(q > 0.5, truth)  # the 0.5 crossing sits on the colour edge
    # The filter keeps each window's mean: the mask's mass is where it was.
    assert abs(float(q.sum() - p.sum())) < 1e-3 * p.size


def test_flat_and_semi_transparent_regions_keep_their_alpha() -> None:
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (60, 60, 3), dtype=np.uint8)  # texture everywhere
    p = np.zeros((60, 60), np.float32)
    p[10:50, 10:50] = 0.5  # a glass product the network sees at half alpha
    q = guided_filter(img, p, 2)
    np.testing.assert_allclose(q[20:40, 20:40], 0.5, atol=1e-4)  # its inside, off the border
    np.testing.assert_allclose(q[:3, :], 0.0, atol=1e-4)
    assert q.dtype == np.float32 and q.shape == p.shape
    assert 0.0 <= q.min() and q.max() <= 1.0


def test_mismatched_guide_is_refused() -> None:
    with pytest.raises(ValueError, match="does not match"):
        guided_filter(two_colours(), np.zeros((10, 10), np.float32), 2)


def test_preprocessing_reads_guide_and_defaults_to_off() -> None:
    assert Preprocessing.from_dict({"input_size": 320}).guide == 0
    stored = Preprocessing(guide=3).to_json()
    assert Preprocessing.from_json(stored).guide == 3


def test_remover_filters_each_model_answer_when_the_file_asks() -> None:
    img = np.full((64, 96, 3), 255, np.uint8)
    img[16:48, 24:72] = (200, 30, 30)
    truth = np.zeros((64, 96), bool)
    truth[16:48, 24:72] = True
    off = Remover(backend=FakeBackend(input_size=64)).mask(img)
    backend = FakeBackend(input_size=64)
    backend.preprocessing = dataclasses.replace(backend.preprocessing, guide=2)
    on = Remover(backend=backend).mask(img)
    assert on.shape == off.shape == (64, 96)
    # The fake network's enlarged mask bleeds a row past the square; the filter pulls it back.
    assert np.count_nonzero((on > 0.5) != truth) < np.count_nonzero((off > 0.5) != truth)


def test_the_refinement_tiles_skip_the_filter(monkeypatch) -> None:
    from bgremove.inference import remover as remover_module

    calls: list[tuple[int, int]] = []
    real = remover_module.guided_filter

    def counting(view, p, radius):
        calls.append(view.shape[:2])
        return real(view, p, radius)

    monkeypatch.setattr(remover_module, "guided_filter", counting)
    backend = FakeBackend(input_size=64)
    backend.preprocessing = dataclasses.replace(backend.preprocessing, guide=2)
    img = np.full((600, 800, 3), 255, np.uint8)  # 12.5x the input: refined in tiles
    img[150:450, 200:600] = (200, 30, 30)
    mask = Remover(backend=backend).mask(img)
    assert mask.shape == (600, 800)
    assert backend.calls > 1  # the global pass and the refinement's tiles ran
    assert len(calls) == 1  # the filter ran on the global pass only
