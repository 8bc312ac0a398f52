"""Shrinking through shared 2x2 halvings: the same pixels as a fresh shrink, each halving made
once, and close to OpenCV's direct area resize."""

from __future__ import annotations

import cv2
import numpy as np

from bgremove.inference.preprocess import resize_image
from bgremove.inference.pyramid import Pyramid, shrink


def _photo(h: int, w: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    img = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), np.uint8), (0, 0), 3)
    return cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX)  # texture at full contrast


def test_a_pyramid_shrinks_to_the_same_pixels_and_makes_each_halving_once():
    img = _photo(1500, 2000)
    pyramid = Pyramid(img)
    global_pass = shrink(pyramid, 320, 320)  # 4.7 / 6.25: halved once
    assert [lv.shape[:2] for lv in pyramid.levels] == [(1500, 2000), (750, 1000)]
    half = pyramid.levels[1]
    tiles = shrink(pyramid, 180, 240)  # 8.3: that halving, reused, and one more
    assert pyramid.levels[1] is half and pyramid.levels[2].shape == (375, 500, 3)
    np.testing.assert_array_equal(global_pass, shrink(img, 320, 320))
    np.testing.assert_array_equal(tiles, shrink(img, 180, 240))


def test_halving_leaves_the_last_step_at_least_2x_or_a_square_stretch():
    pyramid = Pyramid(_photo(1440, 1920))
    shrink(pyramid, 400, 533)  # 3.6 x 3.6: no halving
    assert len(pyramid.levels) == 1
    shrink(pyramid, 320, 320)  # 4.5 x 6: one halving, then 2.25 x 3 by area
    shrink(pyramid, 384, 384)  # 3.75 x 5: a square stretch halves too
    assert [lv.shape[:2] for lv in pyramid.levels] == [(1440, 1920), (720, 960)]


def test_a_shrink_through_halvings_is_close_to_a_direct_area_resize():
    img = _photo(1440, 1920)
    for h, w in ((320, 320), (240, 320), (97, 131), (384, 384), (1440, 1920), (1500, 2000)):
        out = shrink(img, h, w)
        assert out.shape == (h, w, 3)
        diff = np.abs(out.astype(int) - resize_image(img, h, w))
        assert diff.mean() < 1.0 and np.percentile(diff, 99) <= 4


def test_other_resamplers_resize_the_image_itself():
    img = _photo(600, 800)
    pyramid = Pyramid(img)
    out = shrink(pyramid, 60, 80, "lanczos")
    assert len(pyramid.levels) == 1
    np.testing.assert_array_equal(out, resize_image(img, 60, 80, "lanczos"))
