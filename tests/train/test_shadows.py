"""Shadows and reflections of pasted objects: drawn below the object, never labelled."""

from __future__ import annotations

import numpy as np
from pair_store import store_loader

from train.copypaste import CopyPaste, paste
from train.shadows import Shadow, add_shadow, draw_shadow

GREY = 200


def pasted(shadow: Shadow | None, position: tuple[float, float] = (0.5, 0.2)):
    """A 20 x 10 dark object pasted at half the height of a 100 x 100 grey canvas."""
    return paste(np.full((100, 100, 3), GREY, np.uint8), np.zeros((100, 100), np.float32),
                 np.full((20, 10, 3), 40, np.uint8), np.ones((20, 10), np.float32),
                 scale=0.5, position=position, shadow=shadow)


def test_a_cast_shadow_darkens_the_ground_below_the_object_and_is_not_labelled() -> None:
    plain_img, plain_mask = pasted(None)
    img, mask = pasted(Shadow("cast", 0.4, 0.0, 0.0, 0.6))
    assert np.array_equal(mask, plain_mask)  # the label is the object's alone
    rows = np.flatnonzero(plain_mask.any(1))
    base, top = rows[-1] + 1, rows[0]
    cols = np.flatnonzero(plain_mask.any(0))
    # 50 px high: a shadow 20 px long, its upper 6 under the object, the rest below its base.
    below = img[base : base + 14, cols[0] : cols[-1] + 1]
    assert np.all(below == GREY * 0.4)  # strength 0.6: the silhouette, flipped down, squashed
    assert np.all(img[base + 14 :] == GREY)
    assert np.all(img[:top] == GREY)  # nothing above the object
    assert np.all(img <= plain_img)  # a shadow only darkens
    assert np.array_equal(img[plain_mask > 0.99], plain_img[plain_mask > 0.99])  # object on top


def test_a_leaning_shadow_falls_to_that_side() -> None:
    _, mask = pasted(None)
    cols = np.flatnonzero(mask.any(0))
    base = np.flatnonzero(mask.any(1))[-1] + 1
    for shear, side in ((1.0, slice(cols[-1] + 1, None)), (-1.0, slice(None, cols[0]))):
        img, _ = pasted(Shadow("cast", 0.5, shear, 0.0, 0.6))
        assert img[base:, side].min() < GREY * 0.6  # its far end leaves the object's columns


def test_a_reflection_mirrors_the_object_faintly_below_it() -> None:
    _, mask = pasted(None)
    img, mask_r = pasted(Shadow("reflection", 1.0, 0.0, 0.0, 0.5))
    assert np.array_equal(mask_r, mask)
    base = np.flatnonzero(mask.any(1))[-1] + 1
    cols = np.flatnonzero(mask.any(0))
    mirrored = img[base : base + 10, cols[0] : cols[-1] + 1].astype(float)
    # Half way from the grey ground to the darkened object (40 x 0.7 = 28): ~114.
    assert np.all(np.abs(mirrored - (GREY + 28) / 2) <= 2)


def test_shadows_leaving_the_canvas_are_cut_off() -> None:
    canvas = np.full((30, 30, 3), 100.0, np.float32)
    obj, alpha = np.zeros((10, 10, 3), np.float32), np.ones((10, 10), np.float32)
    add_shadow(canvas, obj, alpha, 20, 25, Shadow("cast", 0.9, 1.0, 0.0, 1.0))
    assert canvas[:18].min() == 100.0 and canvas[20:, 25:].min() == 0.0
    untouched = canvas.copy()
    add_shadow(canvas, obj, alpha, 30, 0, Shadow("reflection", 1.0, 0.0, 0.0, 1.0))
    assert np.array_equal(canvas, untouched)  # wholly below the canvas: nothing drawn


def test_draw_shadow_ranges() -> None:
    rng = np.random.default_rng(0)
    drawn = [draw_shadow(rng) for _ in range(400)]
    kinds = [s.kind for s in drawn]
    assert 0.15 < kinds.count("reflection") / len(kinds) < 0.35
    for s in drawn:
        assert 0.08 <= s.length <= 1.0 and -0.8 <= s.shear <= 0.8 and 0.0 <= s.blur <= 0.05
        assert 0.15 <= s.strength <= 0.75


def test_copypaste_shadows_change_the_photo_not_the_label_share() -> None:
    store = {"obj": (np.full((40, 20, 3), 250, np.uint8), np.ones((40, 20), np.float32)),
             "bg": (np.full((120, 160, 3), 128, np.uint8), None)}

    load = store_loader(store)
    plain = CopyPaste([("obj", "m")], [("bg", None)], load, scale=(0.5, 0.5), feather=(0, 0))
    shaded = CopyPaste([("obj", "m")], [("bg", None)], load, scale=(0.5, 0.5), feather=(0, 0),
                       shadows=1.0)
    dark = 0
    for seed in range(20):
        img_p, m_p = plain(0, np.random.default_rng(seed))
        img_s, m_s = shaded(0, np.random.default_rng(seed))
        assert (img_p < 128).sum() == 0  # without shadows nothing is darker than the ground
        assert abs(m_s.mean() - m_p.mean()) < 1e-6  # one object's worth of label either way
        dark += int((img_s < 120).any())
    assert dark >= 15  # most composites got a visible shadow or reflection
