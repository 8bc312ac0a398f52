"""The PNG writer: exact pixels through PIL and libpng, at every level, on both encoders."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from bgremove.imaging import png

SHAPES = [(37, 53, 4), (37, 53, 3), (37, 53), (1, 7, 4), (9, 1, 3), (1, 1)]


def decode_both(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(PIL's pixels, libpng's pixels in RGB(A) order); PIL's verify checks every CRC."""
    with Image.open(io.BytesIO(data)) as img:
        img.verify()
    with Image.open(io.BytesIO(data)) as img:
        pil = np.asarray(img)
    cv = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if cv.ndim == 3:
        cv = cv2.cvtColor(cv, cv2.COLOR_BGR2RGB if cv.shape[2] == 3 else cv2.COLOR_BGRA2RGBA)
    return pil, cv


@pytest.mark.parametrize("level", [0, 1, 3, 6, 9])
@pytest.mark.parametrize("shape", SHAPES)
def test_every_level_and_layout_decodes_to_the_same_pixels(level: int, shape) -> None:
    arr = np.random.default_rng(level).integers(0, 256, shape, np.uint8)
    arr[: shape[0] // 2] //= 16  # some runs to compress, some noise
    for pixels in decode_both(png.encode_png(arr, level)):
        assert np.array_equal(pixels, arr)


def test_bgr_input_is_written_as_rgb_on_both_paths() -> None:
    rgba = np.random.default_rng(1).integers(0, 256, (12, 10, 4), np.uint8)
    bgra = cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA)
    for level in (1, 6):
        pil, _ = decode_both(png.encode_png(bgra, level, bgr=True))
        assert np.array_equal(pil, rgba)


def test_strips_and_idat_chunks_join_seamlessly(monkeypatch) -> None:
    """Many strips (each starts its 'up' filter from the previous strip's last row) and many
    IDAT chunks must give the same image as one of each."""
    if not png.fast_path(1):
        pytest.skip("isal is not installed: the OpenCV path has no strips")
    arr = np.random.default_rng(2).integers(0, 256, (50, 31, 4), np.uint8)
    arr[::3] = arr[0]
    whole = png.encode_png(arr, 1)
    monkeypatch.setattr(png, "_STRIP_BYTES", 7 * (31 * 4 + 1))
    monkeypatch.setattr(png, "_IDAT_BYTES", 100)
    split = png.encode_png(arr, 1)
    assert split.count(b"IDAT") > 5
    for pixels in (*decode_both(whole), *decode_both(split)):
        assert np.array_equal(pixels, arr)


def test_without_isal_every_level_falls_back_to_opencv(monkeypatch) -> None:
    monkeypatch.setattr(png, "isal_zlib", None)
    assert not png.fast_path(1)
    arr = np.random.default_rng(3).integers(0, 256, (20, 30, 3), np.uint8)
    for pixels in decode_both(png.encode_png(arr, 1)):
        assert np.array_equal(pixels, arr)


def test_icc_profile_chunk_precedes_the_image_data() -> None:
    icc = bytes(range(256)) * 3
    data = png.encode_png(np.zeros((4, 4, 3), np.uint8), 1, icc_profile=icc)
    assert data.index(b"iCCP") < data.index(b"IDAT")
    with Image.open(io.BytesIO(data)) as img:
        assert img.info["icc_profile"] == icc


def test_rejects_what_png_cannot_hold() -> None:
    for bad in (np.zeros((4, 4), np.float32), np.zeros((4, 4, 2), np.uint8)):
        with pytest.raises(ValueError, match="PNG needs"):
            png.encode_png(bad)
