"""Augmentations and CopyPaste: seeded, aligned, masks stay masks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from pair_store import store_loader

from train.augment import (
    ColourJitter,
    RandomAffineCrop,
    ZoomCrop,
    affine_matrix,
    build_augmenter,
    colour_lut,
    jpeg_roundtrip,
    shift_hue,
    warp_pair,
)
from train.copypaste import CopyPaste, crop_aspect, object_crop, paste


def sample(h: int = 60, w: int = 90) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (h, w, 3)).astype(np.uint8)
    mask = np.zeros((h, w), np.float32)
    cv2.rectangle(mask, (10, 5), (40, 50), 1.0, -1)  # off-centre: flips and shifts show up
    return img, mask


def test_same_seed_same_result_other_seed_differs() -> None:
    aug = build_augmenter(64)
    img, mask = sample()
    a = aug(img, mask, np.random.default_rng([1, 7]))
    b = aug(img, mask, np.random.default_rng([1, 7]))
    c = aug(img, mask, np.random.default_rng([1, 8]))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    assert a[0].shape == (64, 64, 3) and a[0].dtype == np.uint8
    assert a[1].shape == (64, 64) and a[1].dtype == np.float32


def test_geometry_keeps_mask_aligned_with_image() -> None:
    # The image's pixels *are* the mask: after any warp they must still agree everywhere.
    _, mask = sample()
    img = np.repeat((mask * 255).astype(np.uint8)[..., None], 3, axis=2)
    geo = RandomAffineCrop(48, scale=(0.6, 1.5), rotate=30, flip_p=0.5, shift=0.2)
    for seed in range(20):
        out_img, out_mask = geo(img, mask, np.random.default_rng(seed))
        assert np.abs(out_img[..., 0] / 255.0 - out_mask).max() <= 1 / 255 + 1e-6


def test_masks_stay_binary_ish_after_the_full_pipeline() -> None:
    img, mask = sample()
    aug = build_augmenter(64)
    for seed in range(10):
        _, m = aug(img, mask, np.random.default_rng(seed))
        assert 0.0 <= m.min() and m.max() <= 1.0
        soft = np.mean((m > 0.05) & (m < 0.95))
        assert soft < 0.15, soft  # only the edge pixels are in between


def test_affine_identity_and_flip() -> None:
    img, mask = sample(64, 64)
    m = affine_matrix((64, 64), 64)
    same_img, same_mask = warp_pair(img, mask, m, 64)
    assert np.array_equal(same_img, img) and np.allclose(same_mask, mask)
    flipped = warp_pair(img, mask, affine_matrix((64, 64), 64, flip=True), 64)
    assert np.array_equal(flipped[0], img[:, ::-1]) and np.allclose(flipped[1], mask[:, ::-1])


def test_scale_fits_long_side_and_centres() -> None:
    # 50x100 -> long side 80: scale 0.8, the 40-row image centred in rows 20..60.
    img = np.zeros((50, 100, 3), np.uint8)
    right = np.zeros((50, 100), np.float32)
    right[:, 50:] = 1.0
    _, out = warp_pair(img, right, affine_matrix((50, 100), 80), 80)
    assert out.shape == (80, 80)
    assert out[40, :39].max() == 0.0 and out[40, 41:].min() == 1.0
    top = np.zeros((50, 100), np.float32)
    top[:25] = 1.0  # rows above the image replicate its top row (1), below its bottom row (0)
    _, out = warp_pair(img, top, affine_matrix((50, 100), 80), 80)
    assert out[:39, 40].min() == 1.0 and out[41:, 40].max() == 0.0


def test_colour_ops_leave_the_mask_alone_and_change_pixels() -> None:
    img, mask = sample()
    out_img, out_mask = ColourJitter(p=1.0)(img, mask, np.random.default_rng(3))
    assert out_mask is mask and not np.array_equal(out_img, img)
    identity = colour_lut(0.0, 1.0, 1.0, (1, 1, 1))
    assert np.array_equal(identity[:, 0, 0], np.arange(256))
    grey = np.full((4, 4, 3), 128, np.uint8)
    assert np.abs(shift_hue(grey, 40, 1.0).astype(int) - 128).max() <= 1  # grey has no hue
    assert jpeg_roundtrip(img, 30).shape == img.shape


def test_object_crop_and_paste() -> None:
    img, mask = sample()
    obj, obj_mask = object_crop(img, mask, margin=0)
    assert obj_mask.shape == (46, 31) and obj_mask.min() == 1.0
    assert object_crop(img, np.zeros_like(mask)) is None
    bg = np.zeros((100, 100, 3), np.uint8)
    comp, comp_mask = paste(bg, np.zeros((100, 100), np.float32), np.full((20, 10, 3), 200,
                            np.uint8), np.ones((20, 10), np.float32), scale=0.5, position=(0, 0))
    # scale 0.5: the 20-px-high object becomes 50 px high (tighter side), 25 wide, at (0, 0).
    assert comp_mask[:50, :25].min() == 1.0 and comp_mask[50:].max() == 0.0
    assert np.all(comp[:50, :25] == 200) and np.all(comp[:, 25:] == 0)


def test_paste_keeps_the_background_object_where_visible() -> None:
    bg_mask = np.zeros((40, 40), np.float32)
    bg_mask[:, 30:] = 1.0
    _, m = paste(np.zeros((40, 40, 3), np.uint8), bg_mask, np.zeros((10, 10, 3), np.uint8),
                 np.ones((10, 10), np.float32), scale=0.25, position=(0, 0))
    assert m[:10, :10].min() == 1.0 and m[:, 30:].min() == 1.0 and m[20:, :20].max() == 0.0


def test_a_distractor_hides_the_background_object_and_adds_no_foreground() -> None:
    bg_mask = np.zeros((40, 40), np.float32)
    bg_mask[:, 30:] = 1.0
    comp, m = paste(np.zeros((40, 40, 3), np.uint8), bg_mask, np.full((10, 10, 3), 90, np.uint8),
                    np.ones((10, 10), np.float32), scale=0.5, position=(1, 0), label=False)
    assert np.all(comp[:20, 20:] == 90)  # drawn into the photo
    assert m[:20, 20:].max() == 0.0  # but not foreground, and what it covers is hidden
    assert m[20:, 30:].min() == 1.0  # the background object's visible part stays


def test_distractors_are_drawn_but_only_the_object_is_labelled() -> None:
    obj = np.zeros((40, 20, 3), np.uint8)
    obj[:] = (250, 20, 20)
    store = {"obj": (obj, np.ones((40, 20), np.float32)),
             "bg": (np.full((120, 160, 3), 30, np.uint8), None)}

    load = store_loader(store)
    plain = CopyPaste([("obj", "m")], [("bg", None)], load, scale=(0.5, 0.5), feather=(0, 0))
    crowd = CopyPaste([("obj", "m")], [("bg", None)], load, scale=(0.5, 0.5), feather=(0, 0),
                      distractors=(3, 3), distractor_scale=(0.5, 0.5))
    img_p, m_p = plain(0, np.random.default_rng(1))
    img_c, m_c = crowd(0, np.random.default_rng(1))
    red = lambda im: (im[..., 0] > 200).mean()  # noqa: E731 - share of object-coloured pixels
    assert red(img_c) > red(img_p)  # the distractors are in the photo
    assert abs(m_c.mean() - m_p.mean()) < 0.02  # one object's worth of foreground in both
    assert red(img_c) > m_c.mean() + 0.02  # so some object pixels are labelled background


def test_crop_aspect() -> None:
    img = np.zeros((60, 120, 3), np.uint8)
    out, m = crop_aspect(img, np.zeros((60, 120), np.float32), 0.5, 1.0, 0.0)
    assert out.shape[:2] == (60, 30) and m.shape == (60, 30)


def test_copypaste_is_seeded() -> None:
    img, mask = sample()
    store = {"obj": (img, mask), "bg": (np.full((80, 120, 3), 30, np.uint8), None)}

    load = store_loader(store)
    cp = CopyPaste([("obj", "m")], [("bg", None)], load)
    a = cp(0, np.random.default_rng(5))
    b = cp(0, np.random.default_rng(5))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert 0.05 < a[1].mean() < 0.95  # an object was pasted, not the whole frame
    with pytest.raises(ValueError):
        CopyPaste([], [("bg", None)], load)


def test_valid_region_marks_the_replicated_padding() -> None:
    # A 50x100 image fitted to 80 px fills rows 20..60: the rows above and below are padding.
    img, mask = np.zeros((50, 100, 3), np.uint8), np.ones((50, 100), np.float32)
    geo = RandomAffineCrop(80, scale=(1.0, 1.0), rotate=0, flip_p=0, shift=0, with_valid=True)
    _, out = geo(img, mask, np.random.default_rng(0))
    assert out.shape == (80, 80, 2)
    label, valid = out[..., 0], out[..., 1]
    assert label.min() == 1.0  # the label itself still replicates, as the image does
    assert valid[:19].max() == 0 and valid[21:59].min() == 1 and valid[61:].max() == 0


def test_strong_zoom_out_is_pre_shrunk_with_area_averaging() -> None:
    # A fine stripe pattern shrunk 8x: bilinear sampling alone aliases it to stripes, area
    # averaging gives the mean grey everywhere.
    img = np.zeros((400, 400, 3), np.uint8)
    img[:, ::2] = 255
    mask = np.ones((400, 400), np.float32)
    geo = RandomAffineCrop(50, scale=(1.0, 1.0), rotate=0, flip_p=0, shift=0, with_valid=True)
    out, _ = geo(img, mask, np.random.default_rng(0))
    assert np.abs(out[5:45, 5:45].astype(int) - 128).max() <= 20


def test_square_stretches_each_side_to_the_crop_as_square_inference_does() -> None:
    # 50x100 -> 80x80 stretched: no padding rows, the right half stays the right half, and the
    # warp equals cv2.resize to the square (what a `square` Preprocessing does at inference).
    img = np.zeros((50, 100, 3), np.uint8)
    img[:, 50:] = 200
    right = np.zeros((50, 100), np.float32)
    right[:, 50:] = 1.0
    geo = RandomAffineCrop(80, scale=(1.0, 1.0), rotate=0, flip_p=0, shift=0, with_valid=True,
                           square=True)
    out_img, out = geo(img, right, np.random.default_rng(0))
    label, valid = out[..., 0], out[..., 1]
    assert valid.min() == 1.0  # the whole crop is image
    assert label[:, :39].max() == 0.0 and label[:, 41:].min() == 1.0
    assert label[0].tolist() == label[-1].tolist()  # every row alike: the image was stretched
    resized = cv2.resize(img, (80, 80), interpolation=cv2.INTER_LINEAR)
    assert np.abs(out_img.astype(int) - resized.astype(int)).max() <= 2


def test_square_zoom_out_pads_both_sides_and_flips_mirror() -> None:
    img, mask = sample(60, 90)
    zoomed = RandomAffineCrop(80, scale=(0.5, 0.5), rotate=0, flip_p=0, shift=0,
                              with_valid=True, square=True)
    _, out = zoomed(img, mask, np.random.default_rng(0))
    valid = out[..., 1]
    # a 40x40 square in the middle: both the rows and the columns beyond it are padding
    assert valid[:, :19].max() == 0 and valid[:19].max() == 0 and valid[25:55, 25:55].min() == 1
    m = affine_matrix((60, 90), 80, flip=True, square=True)
    flipped = warp_pair(img, mask, m, 80)[1]
    plain = warp_pair(img, mask, affine_matrix((60, 90), 80, square=True), 80)[1]
    assert np.allclose(flipped, plain[:, ::-1], atol=1e-5)


def test_zoom_crop_frames_a_small_object_as_the_inference_zoom_does() -> None:
    from bgremove.inference.zoom import zoom_box

    img = np.random.default_rng(1).integers(0, 256, (300, 400, 3)).astype(np.uint8)
    mask = np.zeros((300, 400), np.float32)
    mask[120:170, 150:230] = 1.0
    y0, y1, x0, x1 = zoom_box(mask, 0.7)
    out_img, out_mask = ZoomCrop(p=1.0)(img, mask, np.random.default_rng(0))
    np.testing.assert_array_equal(out_img, img[y0:y1, x0:x1])
    np.testing.assert_array_equal(out_mask, mask[y0:y1, x0:x1])
    assert out_mask.sum() == mask.sum()  # the whole object is inside
    assert abs(out_img.shape[1] / out_img.shape[0] - 400 / 300) < 0.05  # the photo's aspect


def test_zoom_crop_leaves_large_objects_and_p0_untouched() -> None:
    img, mask = sample()
    big = np.ones_like(mask)
    assert ZoomCrop(p=1.0)(img, big, np.random.default_rng(0))[1] is big
    rng = np.random.default_rng(5)
    state = rng.bit_generator.state
    out = ZoomCrop(p=0.0)(img, mask, rng)
    assert out[0] is img and rng.bit_generator.state == state  # p 0 draws nothing
