"""The mirror for busy scenes: which photos take it, what it averages, what it costs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bgremove.inference.mirror import backdrop_busyness, mirror_busy
from bgremove.inference.preprocess import Preprocessing
from bgremove.inference.remover import Remover
from bgremove.inference.testing import FakeBackend


def _studio(texture: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A dark box on a backdrop (white, or grey noise of `texture` levels), and its mask."""
    rng = np.random.default_rng(seed)
    image = np.full((240, 320, 3), 230.0) + rng.normal(0, texture, (240, 320, 1))
    image[60:180, 80:240] = (40, 60, 90)
    alpha = np.zeros((240, 320), np.float32)
    alpha[60:180, 80:240] = 1.0
    return np.clip(image, 0, 255).astype(np.uint8), alpha


def test_a_flat_backdrop_is_quiet_and_a_textured_one_busy() -> None:
    flat, alpha = _studio()
    assert backdrop_busyness(flat, alpha) < 1.0  # the box's own edge, one pixel out, and no more
    busy, _ = _studio(texture=20.0)
    assert backdrop_busyness(busy, alpha) > 10.0
    # only the backdrop counts: the object's own texture does not
    quiet = backdrop_busyness(flat, alpha)
    flat[62:178, 82:238] = np.random.default_rng(1).integers(0, 256, (116, 156, 3))
    assert backdrop_busyness(flat, alpha) == pytest.approx(quiet)
    assert backdrop_busyness(flat, np.ones_like(alpha)) == 0.0  # no backdrop at all


def test_busyness_is_read_at_the_networks_scale() -> None:
    small, alpha = _studio(texture=20.0)
    large = np.repeat(np.repeat(small, 8, axis=0), 8, axis=1)
    big_alpha = np.repeat(np.repeat(alpha, 8, axis=0), 8, axis=1)
    # the same photo at 8x the pixels: about the same figure (its gradient a pixel would be 1/8)
    ratio = backdrop_busyness(large, big_alpha) / backdrop_busyness(small, alpha)
    assert 0.8 < ratio < 1.25


def _lopsided(images: list[np.ndarray]) -> list[np.ndarray]:
    """A 'network' that is not mirror-symmetric: it sees more object on the left."""
    out = []
    for img in images:
        w = img.shape[1]
        out.append((img[..., 0] / 255.0 * np.linspace(1.0, 0.2, w)[None, :]).astype(np.float32))
    return out


def test_only_busy_photos_are_averaged_with_their_mirror_in_one_call() -> None:
    images = [_studio(texture=t, seed=k)[0] for k, t in enumerate((20.0, 0.0, 30.0))]
    alphas = [_studio()[1] for _ in images]  # the first pass's object: the rest is backdrop
    before = [a.copy() for a in alphas]
    calls: list[int] = []

    def predict(batch: list[np.ndarray]) -> list[np.ndarray]:
        calls.append(len(batch))
        return _lopsided(batch)

    changed = mirror_busy(predict, images, alphas, 5.0)
    assert changed == [0, 2] and calls == [2]
    np.testing.assert_array_equal(alphas[1], before[1])
    for i in changed:
        back = _lopsided([images[i][:, ::-1]])[0][:, ::-1]
        np.testing.assert_allclose(alphas[i], (before[i] + back) / 2, atol=1e-6)
    assert mirror_busy(predict, images, alphas, 0.0) == [] and calls == [2]


def _remover(level: float, tta: bool = False) -> tuple[Remover, FakeBackend]:
    """A Remover asking for the mirror at the level its 'weights' store (busyness is read on
    the global pass's view: at the bundled model's 320 px, as in use)."""
    backend = FakeBackend(input_size=320)
    backend.preprocessing = dataclasses.replace(backend.preprocessing, mirror_busy=level)
    return Remover(backend=backend, tile_threshold=1000.0, tta=tta, mirror_busy=None), backend


def _product() -> np.ndarray:
    """A dark box on white, as a catalog shot."""
    return _studio()[0]


def _scene() -> np.ndarray:
    """The box on a textured backdrop, which the fake network calls background."""
    return _studio(texture=25.0)[0]


def test_a_catalog_shot_costs_one_call_and_a_busy_scene_two() -> None:
    remover, backend = _remover(5.0)
    remover.mask(_product())
    assert backend.calls == 1
    scene = remover.mask(_scene())
    assert backend.calls == 3
    # the fake network is mirror-symmetric: its mirror image's answer is its own
    plain, _ = _remover(0.0)
    np.testing.assert_allclose(scene, plain.mask(_scene()), atol=1e-5)


def test_a_large_photo_pays_one_call_at_the_input_size_not_its_refinement_again() -> None:
    """The mirror averages the global passes, before refinement: a photo big enough to be
    refined in tiles costs one more network call with the mirror, of the global pass's size."""
    big = np.repeat(np.repeat(_scene(), 8, axis=0), 8, axis=1)  # 2560 x 1920: refined in tiles
    shapes: dict[float, list[tuple[int, ...]]] = {}
    for level in (0.0, 5.0):
        remover, backend = _remover(level)
        remover.tiles = dataclasses.replace(remover.tiles, threshold=6.0)
        seen: list[tuple[int, ...]] = []
        predict = backend.predict
        backend.predict = lambda x, seen=seen, predict=predict: (seen.append(x.shape), predict(x))[1]
        remover.mask(big)
        shapes[level] = seen
    assert len(shapes[0.0]) >= 2  # the global pass, then the refinement's tiles
    assert shapes[5.0] == [shapes[0.0][0], shapes[0.0][0], *shapes[0.0][1:]]


def test_the_mirror_is_off_unless_asked_for_whatever_the_file_stores() -> None:
    backend = FakeBackend(input_size=320)
    backend.preprocessing = dataclasses.replace(backend.preprocessing, mirror_busy=5.0)
    Remover(backend=backend, tile_threshold=1000.0).mask(_scene())
    assert backend.calls == 1
    remover, backend = _remover(5.0)
    remover.mirror_busy = 3.0  # the caller's own level over the file's
    remover.mask(_scene())
    assert backend.calls == 2


def test_tta_mirrors_every_photo_already_so_the_mirror_adds_no_calls() -> None:
    on, on_backend = _remover(5.0, tta=True)
    off, off_backend = _remover(0.0, tta=True)
    np.testing.assert_array_equal(on.mask(_scene()), off.mask(_scene()))
    assert on_backend.calls == off_backend.calls


def test_preprocessing_reads_the_level_and_defaults_to_never() -> None:
    assert Preprocessing().mirror_busy == 0.0
    assert Preprocessing.from_dict({"mirror_busy": "6"}).mirror_busy == 6.0
    assert Preprocessing.from_json(Preprocessing(mirror_busy=4.0).to_json()).mirror_busy == 4.0
