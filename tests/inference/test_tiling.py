"""Tiling: grid coverage, blend weights, tiled == direct, no seams, global + tiles merge."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from bgremove.errors import ConfigError
from bgremove.inference.preprocess import (
    Preprocessing,
    model_shape,
    pad_for_model,
    pad_to_multiple,
    unpad,
)
from bgremove.inference.remover import backend_predictor
from bgremove.inference.tiling import (
    TileConfig,
    blend_window,
    predict_mask,
    predict_tiled,
    tile_grid,
    uncertainty_band,
    working_size,
)


def _pre(input_size: int, multiple: int) -> Preprocessing:
    return Preprocessing(input_size=input_size, multiple=multiple)


def _iou(a, b):
    return float(((a > 0.5) & (b > 0.5)).sum() / max(1, ((a > 0.5) | (b > 0.5)).sum()))


@pytest.mark.parametrize("h,w", [(333, 501), (64, 64), (50, 700), (1000, 37)])
def test_pad_unpad_round_trip(h, w):
    img = np.random.default_rng(0).integers(0, 256, (h, w, 3), np.uint8)
    padded, size = pad_to_multiple(img, 32)
    assert padded.shape[0] % 32 == 0 and padded.shape[1] % 32 == 0 and size == (h, w)
    assert np.array_equal(padded[-1, -1], img[-1, -1])  # replicated, not black
    assert np.array_equal(unpad(padded.transpose(2, 0, 1), size).transpose(1, 2, 0), img)


@pytest.mark.parametrize("h,w", [(240, 320), (320, 213), (64, 64), (50, 700), (1000, 37)])
def test_square_canvas_centres_the_image_and_unpads_exactly(h, w):
    """The training layout: the image centred on a square canvas, edges replicated."""
    img = np.random.default_rng(1).integers(0, 256, (h, w, 3), np.uint8)
    padded, box = pad_for_model(img, 32, square=True)
    side = -(-max(h, w) // 32) * 32
    assert padded.shape[:2] == (side, side) == model_shape(h, w, 32, True)
    top, left = box[:2]
    assert abs(top - (side - h - top)) <= 1 and abs(left - (side - w - left)) <= 1  # centred
    assert np.array_equal(padded[0, left], img[0, 0]) and np.array_equal(padded[-1, -1], img[-1, -1])
    assert np.array_equal(unpad(padded.transpose(2, 0, 1), box).transpose(1, 2, 0), img)
    assert model_shape(h, w, 32, False) == pad_to_multiple(img, 32)[0].shape[:2]


@pytest.mark.parametrize("h,w,tile,overlap,align",
                         [(333, 501, 64, 0.25, 8), (64, 64, 64, 0.25, 8), (100, 1000, 96, 0.5, 32),
                          (40, 30, 64, 0.25, 8), (257, 257, 64, 0.0, 1)])
def test_tile_grid_covers_with_overlap(h, w, tile, overlap, align):
    cover = np.zeros((h, w), int)
    corners = tile_grid(h, w, tile, overlap, align)
    for y, x in corners:
        assert 0 <= y and 0 <= x and y + min(tile, h) <= h and x + min(tile, w) <= w
        cover[y : y + tile, x : x + tile] += 1
    assert cover.min() >= 1
    xs = sorted({x for _, x in corners})
    assert all(x % align == 0 for x in xs[:-1])
    for a, b in zip(xs, xs[1:], strict=False):
        assert a + tile - b >= int(tile * overlap) // align * align  # neighbours overlap


def test_blend_window_never_zero_flat_top():
    win = blend_window(64, 80, 16)
    assert win.shape == (64, 80) and win.min() > 0 and win.max() == 1.0
    assert (win[16:48, 16:64] == 1.0).all()
    assert win[0, 0] < 0.01 and np.allclose(win, win[::-1, ::-1])


def test_tiled_equals_direct_for_equivariant_backend(make_backend, scene):
    backend = make_backend(input_size=64, multiple=8)
    predict = backend_predictor(backend)
    rgb, _ = scene(333, 501)
    direct = predict([rgb])[0]
    tiled, weight = predict_tiled(predict, rgb, 64, 0.25, 8)
    assert tiled.shape == direct.shape == (333, 501) and weight.min() > 0
    assert np.abs(tiled - direct).max() < 0.02
    assert len(backend.shapes) > 1


class _TileConstant:
    """A 'model' whose answer is one constant per call, different every time: the worst case
    for seams, since neighbouring tiles disagree everywhere."""

    name = "constant"

    def __init__(self):
        from bgremove.inference.preprocess import Preprocessing

        self.preprocessing = Preprocessing(input_size=64, multiple=8)
        self.rng = np.random.default_rng(0)

    def predict(self, batch):
        n = batch.shape[0]
        logits = self.rng.uniform(-5, 5, (n, 1, 1, 1))
        return np.broadcast_to(logits, (n, 1) + batch.shape[2:]).astype(np.float32)


def test_no_seams_between_disagreeing_tiles():
    img = np.full((300, 400, 3), 128, np.uint8)
    tiled, _ = predict_tiled(backend_predictor(_TileConstant()), img, 64, 0.25, 8)
    corners = tile_grid(300, 400, 64, 0.25, 8)
    borders = sorted({x for _, x in corners} | {x + 64 for _, x in corners})[1:-1]
    step_x = np.abs(np.diff(tiled, axis=1))
    step_y = np.abs(np.diff(tiled, axis=0))
    values = np.unique(np.round(tiled[::8, ::8], 3))
    assert values.max() - values.min() > 0.5  # tiles really disagree
    assert step_x[:, [b - 1 for b in borders]].max() < 0.15  # a hard seam would be ~0.5
    assert max(step_x.max(), step_y.max()) < 0.15


def test_seams_no_larger_than_inside_tiles(make_backend, scene):
    backend = make_backend(input_size=64, multiple=8)
    rgb, _ = scene(300, 420, seed=3)
    tiled, _ = predict_tiled(backend_predictor(backend), rgb, 64, 0.25, 8)
    direct = backend_predictor(backend)([rgb])[0]
    err = np.abs(tiled - direct)
    xs = sorted({x for _, x in tile_grid(300, 420, 64, 0.25, 8)})
    edges = [x for x in xs[1:]] + [x + 63 for x in xs[:-1]]
    near = np.zeros(420, bool)
    near[edges] = True
    assert err[:, near].max() <= max(0.01, 2 * err[:, ~near].max())


def test_uncertainty_band():
    g = np.zeros((50, 50), np.float32)
    g[10:40, 10:40] = 1.0  # a crisp square: only its contour is unsure
    band = uncertainty_band(g, radius=3)
    assert band[25, 10] == 1.0 and band[25, 25] == 0.0 and band[0, 0] == 0.0
    assert 0.0 < band[25, 5] < 1.0  # smooth hand-over at 1..2 radius
    assert not uncertainty_band(np.zeros((9, 9), np.float32), 3).any()


def test_small_image_single_pass(make_backend, scene):
    backend = make_backend(input_size=64, multiple=8)
    rgb, _ = scene(70, 90)
    mask = predict_mask(backend_predictor(backend), rgb, _pre(64, 8))
    assert mask.shape == (70, 90) and mask.dtype == np.float32
    assert backend.shapes == [(1, 3, 64, 64)]  # 50x64, centred on a 64x64 canvas
    tight = make_backend(input_size=64, multiple=8, pad_square=False)
    assert np.allclose(predict_mask(backend_predictor(tight), rgb, _pre(64, 8)), mask, atol=0.05)
    assert tight.shapes == [(1, 3, 56, 64)]  # height padded to a multiple of 8 only


# The fake model is exact at any zoom, so it gains from every extra pixel of working resolution
# (a real one needs context too: TileConfig.max_scale); the tiling mechanics are checked at 2x.
_ZOOM2 = TileConfig(max_scale=2.0)


@pytest.mark.parametrize("h,w", [(333, 501), (1200, 1600), (300, 7000)])
def test_large_image_global_plus_tiles(make_backend, scene, h, w):
    backend = make_backend(input_size=64, multiple=8)
    predict = backend_predictor(backend)
    rgb, truth = scene(h, w)
    mask = predict_mask(predict, rgb, _pre(64, 8), _ZOOM2)
    assert mask.shape == (h, w) and mask.dtype == np.float32
    assert 0.0 <= mask.min() and mask.max() <= 1.0
    assert _iou(mask, truth) > 0.95
    assert len(backend.shapes) > 1  # tiles ran
    lowres = predict_mask(predict, rgb, _pre(64, 8), TileConfig(threshold=1000.0))  # global only
    default = predict_mask(predict, rgb, _pre(64, 8))  # 1.5x
    assert _iou(mask, truth) >= _iou(default, truth) >= _iou(lowres, truth)


# The tile-selection and gating tests need a deep zoom (many tiles, each seeing little of the
# image), which the default 1.5x refinement no longer reaches at these sizes.
_ZOOM4 = TileConfig(max_scale=4.0)


def test_tiles_away_from_edges_are_skipped(make_backend):
    backend = make_backend(input_size=64, multiple=8)
    rgb = np.full((1024, 1024, 3), 250, np.uint8)
    rgb[400:600, 400:600] = (20, 20, 200)
    mask = predict_mask(backend_predictor(backend), rgb, _pre(64, 8), _ZOOM4)
    wh, ww = working_size(1024, 1024, 64, _ZOOM4)
    n_tiles = sum(s[0] for s in backend.shapes[1:])
    assert n_tiles < len(tile_grid(wh, ww, 64, 0.25, 8))
    assert mask[500, 500] > 0.99 and mask[50, 50] < 0.01 and mask[500, 100] < 0.01


def test_tiled_agrees_with_direct_full_resolution_pass(make_backend, scene):
    backend = make_backend(input_size=64, multiple=8)
    predict = backend_predictor(backend)
    rgb, _ = scene(400, 560, seed=5)
    direct = predict([rgb])[0]
    assert _iou(predict_mask(predict, rgb, _pre(64, 8), _ZOOM2), direct) > 0.97


def test_square_backend(make_backend, scene):
    backend = make_backend(input_size=64, square=True)
    rgb, truth = scene(200, 330)
    mask = predict_mask(backend_predictor(backend), rgb, _pre(64, 1))
    assert mask.shape == (200, 330) and _iou(mask, truth) > 0.9
    assert all(s[2:] == (64, 64) for s in backend.shapes)


def test_memory_stays_bounded(make_backend):
    """12 MP in: the inference core must not hold more than ~2.5 full-size float32 planes."""
    backend = make_backend(input_size=64, multiple=8)
    rgb = np.full((3000, 4000, 3), 250, np.uint8)
    rgb[800:2200, 1000:3000] = (200, 40, 40)
    plane = 3000 * 4000 * 4
    tracemalloc.start()
    try:
        mask = predict_mask(backend_predictor(backend), rgb, _pre(64, 8))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert mask.shape == (3000, 4000)
    assert peak < 2.5 * plane, peak / plane


@pytest.mark.parametrize("h,w,calls", [(1200, 1600, 1), (300, 400, 1), (3000, 4000, 5)])
def test_model_calls_for_catalog_sizes(make_backend, h, w, calls):
    """Up to `threshold` x the input (a 1600x1200 photo is 5x a 320 input) the global pass is
    the whole cost; a 4000x3000 photo is refined once, at 1.5x (554x416): 2 x 2 tiles."""
    backend = make_backend(input_size=320, multiple=32)
    rgb = np.full((h, w, 3), 250, np.uint8)
    rgb[h // 5 : h - h // 5, w // 4 : w - w // 4] = (200, 40, 40)  # edges in every 2x tile
    mask = predict_mask(backend_predictor(backend, batch_size=1), rgb, _pre(320, 32))
    assert mask.shape == (h, w) and len(backend.shapes) == calls
    assert mask[h // 2, w // 2] > 0.99 and mask[5, 5] < 0.01
    if max(h, w) > 1.5 * 320:  # threshold=1.5 restores refinement
        predict_mask(backend_predictor(backend), rgb, _pre(320, 32), TileConfig(threshold=1.5))
        assert len(backend.shapes) > calls + 1


def test_working_size_keeps_panoramas_tall_enough():
    cfg = TileConfig()  # 1.5x: at most (1.5 x 320)^2 pixels
    assert working_size(1200, 1600, 320, cfg) == (416, 554)
    assert working_size(1200, 1600, 320, TileConfig(max_scale=2.0)) == (554, 739)
    assert working_size(300, 7000, 320, cfg) == (300, 7000)  # too low to shrink at all
    h, w = working_size(3000, 60000, 320, cfg)
    assert h == 320 and w == 6400  # full-height tiles
    assert working_size(100, 10**6, 320, cfg)[0] < 100  # but at most 16x the area


def test_tile_config_validation():
    for bad in (dict(overlap=0.95), dict(overlap=-0.1), dict(tile_size=8), dict(threshold=0.5),
                dict(band=0.0), dict(max_scale=0.9)):
        with pytest.raises(ConfigError):
            TileConfig(**bad)


class _ContextHungry:
    """Like a salient-object model shown a crop without context: when a view is mostly
    background with a bit of object, it calls the whole view the object. Whole images (the
    global pass: 64% object here) are fine."""

    name = "context-hungry"

    def __init__(self, inner):
        self.inner, self.preprocessing = inner, inner.preprocessing

    def predict(self, batch):
        logits = self.inner.predict(batch)
        for z in logits:
            if 0.0 < (z > 0).mean() < 0.5:
                z[:] = 10.0
        return logits


def test_tiles_that_disagree_with_the_global_mask_are_rejected(make_backend):
    rgb = np.full((600, 800, 3), 250, np.uint8)
    rgb[60:540, 80:720] = (30, 30, 160)  # a big object: many edge tiles are mostly inside it
    truth = np.zeros((600, 800), np.float32)
    truth[60:540, 80:720] = 1.0
    backend = _ContextHungry(make_backend(input_size=64, multiple=8))
    predict = backend_predictor(backend)
    gated = predict_mask(predict, rgb, _pre(64, 8), _ZOOM4)
    ungated = predict_mask(predict, rgb, _pre(64, 8), TileConfig(max_scale=4.0, gate=(10.0, 11.0)))
    assert _iou(ungated, truth) < 0.95  # the failure the gate exists for really happens here
    assert _iou(gated, truth) > 0.97
