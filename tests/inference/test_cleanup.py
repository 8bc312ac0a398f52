"""Mask clean-up: ghosts dropped, pale spots filled, real gaps and transparent products kept."""

from __future__ import annotations

import numpy as np

from bgremove.inference.cleanup import Cleanup, drop_faint_regions, fill_unsure_holes

clean = Cleanup()


def canvas() -> np.ndarray:
    return np.zeros((100, 120), np.float32)


def test_a_faint_region_beside_a_confident_object_is_dropped() -> None:
    a = canvas()
    a[20:80, 10:50] = 1.0  # the product
    a[30:70, 70:110] = 0.45  # a ghost: a crowd kept at half alpha
    out = clean(a)
    assert out[30:70, 70:110].max() == 0.0
    assert np.array_equal(out[20:80, 10:50], a[20:80, 10:50])


def test_a_faint_object_alone_is_kept() -> None:
    a = canvas()
    a[30:70, 30:90] = 0.45
    a[5:10, 5:10] = 0.3
    assert np.array_equal(clean(a), a)


def test_a_small_unsure_spot_inside_the_object_is_filled() -> None:
    a = canvas()
    a[10:90, 10:110] = 1.0
    a[40:50, 50:60] = 0.35  # a pale patch on a white T-shirt
    assert clean(a)[40:50, 50:60].min() == 1.0


def test_a_real_gap_stays_open() -> None:
    a = canvas()
    a[10:90, 10:110] = 1.0
    a[40:50, 50:60] = 0.02  # background seen through a handle
    assert np.array_equal(fill_unsure_holes(a), a)


def test_a_semi_transparent_product_survives() -> None:
    # A glass: a confident rim around a large body the background shows through at 35%.
    a = canvas()
    a[10:90, 30:90] = 0.95
    a[15:85, 35:85] = 0.35
    assert np.array_equal(clean(a), a)
    # Its faint body is connected to the rim, so it is not dropped as a ghost either.
    assert np.array_equal(drop_faint_regions(a), a)


def test_a_gap_open_to_the_frame_is_not_a_hole() -> None:
    a = canvas()
    a[:, 30:90] = 1.0
    a[:10, 55:65] = 0.4  # notch at the top edge
    assert np.array_equal(fill_unsure_holes(a), a)


def test_empty_and_full_masks_pass_through() -> None:
    for a in (canvas(), np.ones((5, 5), np.float32), np.full((1, 1), 0.5, np.float32)):
        assert np.array_equal(clean(a), a)
