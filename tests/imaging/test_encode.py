"""encode_image: every output format, exact where lossless, with the ICC profile carried."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from bgremove.imaging.encode import encode_image


@pytest.mark.parametrize("fmt", ["png", "jpg", "webp"])
def test_encode_formats_and_icc(fmt, srgb_icc):
    arr = np.random.default_rng(4).integers(0, 256, (31, 47, 3), dtype=np.uint8)
    icc = srgb_icc
    data = encode_image(arr, fmt, icc_profile=icc, lossless=True)
    with Image.open(io.BytesIO(data)) as img:
        assert img.size == (47, 31) and img.info.get("icc_profile") == icc
        back = np.asarray(img.convert("RGB"))
    if fmt != "jpg":
        assert np.array_equal(back, arr)


def test_encode_rgba_and_grey_png_exact():
    rgba = np.random.default_rng(5).integers(0, 256, (9, 11, 4), dtype=np.uint8)
    grey = rgba[..., 0].copy()
    for arr in (rgba, grey):
        for fmt in ("png", "webp"):
            with Image.open(io.BytesIO(encode_image(arr, fmt, lossless=True))) as img:
                out = np.asarray(img)
                if fmt == "webp" and arr.ndim == 2:
                    out = out[..., 0]
                if fmt == "webp" and arr.ndim == 3:  # exact=False may change invisible colour
                    out, arr = out[arr[..., 3] > 0], arr[arr[..., 3] > 0]
                assert np.array_equal(out, arr)
    with pytest.raises(ValueError, match="alpha"):
        encode_image(rgba, "jpg")
    with pytest.raises(ValueError, match="format"):
        encode_image(grey, "gif")



def test_png_icc_chunk_is_valid_for_libpng_too(srgb_icc):
    """The iCCP chunk is spliced in by hand: PIL and libpng (via OpenCV) must both accept it,
    with the exact pixels, for RGB, RGBA and grey."""
    icc = srgb_icc
    rng = np.random.default_rng(7)
    for shape in ((13, 21, 3), (13, 21, 4), (13, 21)):
        arr = rng.integers(0, 256, shape, np.uint8)
        data = encode_image(arr, "png", icc_profile=icc, png_compression=6)
        with Image.open(io.BytesIO(data)) as img:
            img.verify()  # checks every chunk's CRC
        with Image.open(io.BytesIO(data)) as img:
            assert img.info.get("icc_profile") == icc and np.array_equal(np.asarray(img), arr)
        back = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if arr.ndim == 3:
            code = cv2.COLOR_BGR2RGB if arr.shape[2] == 3 else cv2.COLOR_BGRA2RGBA
            back = cv2.cvtColor(back, code)
        assert np.array_equal(back, arr)
        assert data.index(b"iCCP") < data.index(b"IDAT")
    assert b"iCCP" not in encode_image(arr, "png")



@pytest.mark.parametrize("fmt", ["png", "webp"])
def test_encode_bgr_input_gives_the_same_image(fmt):
    rgba = np.random.default_rng(8).integers(0, 256, (9, 11, 4), dtype=np.uint8)
    rgba[..., 3] = 255  # lossless WebP may drop the colour of invisible pixels
    for arr in (rgba, rgba[..., :3]):
        bgr = arr[..., [2, 1, 0, 3][: arr.shape[2]]]
        with Image.open(io.BytesIO(encode_image(bgr, fmt, lossless=True, bgr=True))) as img:
            assert np.array_equal(np.asarray(img.convert("RGBA"))[..., : arr.shape[2]], arr)
