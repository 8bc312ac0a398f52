"""The second look at a small object: where the crop goes, when it is taken, what it changes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bgremove.inference.preprocess import Preprocessing
from bgremove.inference.remover import Remover
from bgremove.inference.testing import FakeBackend
from bgremove.inference.zoom import FEATHER, MARGIN, MIN_MARGIN_PX, mirror_mean, paste, zoom_box
from bgremove.modeltools.metrics import region_metrics


def _mask(h: int, w: int, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    m = np.zeros((h, w), np.float32)
    m[y0:y1, x0:x1] = 1.0
    return m


def test_no_object_or_zoom_off_means_no_crop() -> None:
    assert zoom_box(np.zeros((300, 400), np.float32), 0.7) is None
    assert zoom_box(np.full((300, 400), 0.49, np.float32), 0.7) is None
    assert zoom_box(_mask(300, 400, 100, 150, 100, 150), 0.0) is None


def test_a_large_object_is_left_to_the_first_pass() -> None:
    big = _mask(300, 400, 20, 280, 30, 370)
    assert zoom_box(big, 0.7) is None
    assert zoom_box(big, 1.0) is not None  # the area limit, not the object's presence, decides


@pytest.mark.parametrize("h, w", [(300, 400), (400, 300), (480, 854)])
@pytest.mark.parametrize("obj", [(100, 140, 100, 260), (10, 200, 0, 30), (250, 300, 200, 300)])
def test_the_crop_holds_the_object_with_its_margin_in_the_photos_aspect(h, w, obj) -> None:
    y0, y1, x0, x1 = obj
    box = zoom_box(_mask(h, w, *obj), 1.0)
    assert box is not None
    by0, by1, bx0, bx1 = box
    assert 0 <= by0 and by1 <= h and 0 <= bx0 and bx1 <= w
    assert by0 <= y0 and by1 >= y1 and bx0 <= x0 and bx1 >= x1
    # the margin where the frame leaves room for it
    my = max(int((y1 - y0) * MARGIN), MIN_MARGIN_PX)
    assert by0 == 0 or y0 - by0 >= my
    assert by1 == h or by1 - y1 >= my
    # the photo's own aspect, unless the crop had to be clipped to the frame
    if by1 - by0 < h and bx1 - bx0 < w:
        assert (by1 - by0) / (bx1 - bx0) == pytest.approx(h / w, rel=0.02)


def test_preprocessing_reads_zoom_and_defaults_to_off() -> None:
    assert Preprocessing().zoom == 0.0
    assert Preprocessing.from_dict({"zoom": "0.5"}).zoom == 0.5
    assert Preprocessing.from_json(Preprocessing(zoom=0.7).to_json()).zoom == 0.7


def test_preprocessing_reads_the_mirror_and_defaults_to_off() -> None:
    assert Preprocessing().zoom_mirror is False
    assert Preprocessing.from_dict({"zoom_mirror": 1}).zoom_mirror is True
    assert Preprocessing.from_json(Preprocessing(zoom_mirror=True).to_json()).zoom_mirror is True


def test_the_mirror_mean_undoes_the_flip_in_one_call() -> None:
    calls: list[int] = []

    def ramp(images: list[np.ndarray]) -> list[np.ndarray]:  # blind to the image: a left-right ramp
        calls.append(len(images))
        return [np.tile(np.linspace(0, 1, im.shape[1], dtype=np.float32), (im.shape[0], 1))
                for im in images]

    def red(images: list[np.ndarray]) -> list[np.ndarray]:  # follows the image: flip-equivariant
        return [im[..., 0].astype(np.float32) / 255 for im in images]

    images = [np.random.default_rng(k).integers(0, 256, (20, 30 + k, 3), np.uint8) for k in range(2)]
    averaged = mirror_mean(ramp, images)
    assert calls == [4]  # both crops and both mirrors in one batch
    for im, mask in zip(images, averaged, strict=True):
        assert mask.shape == im.shape[:2]
        np.testing.assert_allclose(mask, 0.5, atol=1e-6)  # the ramp and its undone mirror cancel
    for got, want in zip(mirror_mean(red, images), red(images), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-6)  # an equivariant model: nothing changes


def _remover(zoom_area: float, mirror: bool = False) -> tuple[Remover, FakeBackend]:
    backend = FakeBackend(input_size=64)
    backend.preprocessing = dataclasses.replace(backend.preprocessing, zoom=zoom_area,
                                                zoom_mirror=mirror)
    # no tiled refinement: what is measured here is the zoom alone
    return Remover(backend=backend, tile_threshold=1000.0), backend


def _scene(h: int, w: int, centre: tuple[int, int], radius: int) -> tuple[np.ndarray, np.ndarray]:
    """A dark disc on white, and its true mask: at 64 px a small disc is a few blocky pixels."""
    yy, xx = np.mgrid[:h, :w]
    truth = ((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius**2).astype(np.float32)
    image = np.full((h, w, 3), 255, np.uint8)
    image[truth > 0] = (40, 60, 90)
    return image, truth


def test_a_small_object_gets_a_second_model_call_and_sharper_edges() -> None:
    image, truth = _scene(480, 640, (230, 340), 24)
    off, off_backend = _remover(0.0)
    on, on_backend = _remover(0.5)
    first, second = off.mask(image), on.mask(image)
    assert (off_backend.calls, on_backend.calls) == (1, 2)
    assert region_metrics(second, truth)["iou"] > region_metrics(first, truth)["iou"] + 0.05
    box = zoom_box(first, 0.5)
    assert box is not None
    outside = np.ones(truth.shape, bool)
    outside[box[0]:box[1], box[2]:box[3]] = False
    np.testing.assert_array_equal(second[outside], first[outside])  # the first pass stays there


def test_the_mirror_sees_the_crop_flipped_and_keeps_the_first_pass_outside() -> None:
    image, truth = _scene(480, 640, (230, 340), 24)
    plain, _ = _remover(0.5)
    mirrored, backend = _remover(0.5, mirror=True)
    seen: list[tuple[int, ...]] = []
    predict = backend.predict
    backend.predict = lambda batch: (seen.append(batch.shape), predict(batch))[1]
    a, b = plain.mask(image), mirrored.mask(image)
    assert len(seen) == 2 and seen[1][0] == 2  # the first pass, then the crop with its mirror
    assert region_metrics(b, truth)["iou"] > 0.9
    box = zoom_box(a, 0.5)
    outside = np.ones(truth.shape, bool)
    outside[box[0]:box[1], box[2]:box[3]] = False
    np.testing.assert_array_equal(b[outside], a[outside])


def test_tta_mirrors_the_crop_already_so_the_mirror_adds_no_calls() -> None:
    image, _ = _scene(480, 640, (230, 340), 24)
    backend = FakeBackend(input_size=64)
    backend.preprocessing = dataclasses.replace(backend.preprocessing, zoom=0.5, zoom_mirror=True)
    seen: list[int] = []
    predict = backend.predict
    backend.predict = lambda batch: (seen.append(len(batch)), predict(batch))[1]
    with_mirror = Remover(backend=backend, tile_threshold=1000.0, tta=True)
    a = with_mirror.mask(image)
    views = sum(seen)
    assert views == 8  # per pass (photo, then crop): two scales, each with its mirror
    backend.preprocessing = dataclasses.replace(backend.preprocessing, zoom_mirror=False)
    np.testing.assert_array_equal(with_mirror.mask(image), a)
    assert sum(seen) == 2 * views


def test_a_photo_filled_by_its_object_costs_one_call() -> None:
    image, _ = _scene(480, 640, (240, 320), 230)
    on, backend = _remover(0.5)
    on.mask(image)
    assert backend.calls == 1


def test_the_caller_can_turn_the_files_zoom_off() -> None:
    image, _ = _scene(480, 640, (230, 340), 24)
    remover, backend = _remover(0.5)
    remover.zoom = 0.0
    remover.mask(image)
    assert backend.calls == 1


def test_the_paste_leaves_no_step_at_the_crops_inner_border() -> None:
    first = np.full((300, 400), 0.4, np.float32)  # a faint region the crop calls background
    y0, y1, x0, x1 = 100, 220, 150, 310
    pasted = paste(first.copy(), np.zeros((y1 - y0, x1 - x0), np.float32), (y0, y1, x0, x1))
    steps = [pasted[y0, x0:x1] - first[y0 - 1, x0:x1], pasted[y1 - 1, x0:x1] - first[y1, x0:x1],
             pasted[y0:y1, x0] - first[y0:y1, x0 - 1], pasted[y0:y1, x1 - 1] - first[y0:y1, x1]]
    assert max(np.abs(s).max() for s in steps) < 0.05
    ramp = round(FEATHER * (y1 - y0))
    np.testing.assert_array_equal(pasted[y0 + ramp:y1 - ramp, x0 + ramp:x1 - ramp], 0.0)
    assert (pasted[:y0] == 0.4).all() and (pasted[y1:] == 0.4).all()  # outside untouched


def test_a_border_on_the_photos_own_edge_is_not_blended() -> None:
    first = np.full((300, 400), 0.4, np.float32)
    pasted = paste(first.copy(), np.ones((120, 160), np.float32), (0, 120, 240, 400))
    assert pasted[0, 320] == 1.0 and pasted[60, 399] == 1.0  # the photo's top and right edges
    assert pasted[119, 320] < 0.5 and pasted[60, 240] < 0.5  # the inner borders blend
    assert pasted[60, 320] == 1.0
