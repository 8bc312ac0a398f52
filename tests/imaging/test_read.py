"""Reading every image mode to RGB uint8, keeping an RGB image's ICC profile, rejecting bad files clearly."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from bgremove.errors import ImageError
from bgremove.imaging.read import LoadedImage, read_image


def _save(img: Image.Image, path: Path, **kw) -> Path:
    img.save(path, **kw)
    return path


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def cmyk_profile() -> bytes:
    """A minimal ICC v2 CMYK profile (lut8 A2B0): no ink -> white, any C/M/Y -> a pinkish red,
    K -> near black. Far from PIL's naive CMYK formula, so a test can tell which one ran."""
    pink, black = bytes([153, 178, 128]), bytes([13, 128, 128])  # Lab (60, 50, 0), (5, 0, 0)
    clut = b"".join(pink if i % 2 == 0 else black for i in range(16))  # K varies fastest
    mft1 = (b"mft1" + b"\0" * 4 + bytes([4, 3, 2, 0])
            + b"".join(_s15(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
            + bytes(range(256)) * 4 + clut + bytes(range(256)) * 3)
    xyz = b"XYZ " + b"\0" * 4 + _s15(0.9642) + _s15(1.0) + _s15(0.8249)
    text = b"test CMYK\0"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(text)) + text + b"\0" * 78
    tags = [(b"desc", desc), (b"cprt", b"text\0\0\0\0none\0"), (b"wtpt", xyz), (b"A2B0", mft1)]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        body += b"\0" * (-len(body) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    header = (struct.pack(">I", offset + len(data)) + b"lcms" + bytes([2, 0x10, 0, 0]) + b"prtr"
              + b"CMYK" + b"Lab " + b"\0" * 12 + b"acsp" + b"\0" * 28
              + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + b"\0" * 48)
    return header + struct.pack(">I", len(tags)) + table + data


# ---- modes ---------------------------------------------------------------------------------

def test_rgb_png_round_trip_exact(tmp_path):
    arr = np.random.default_rng(0).integers(0, 256, (501, 333, 3), dtype=np.uint8)
    loaded = read_image(_save(Image.fromarray(arr), tmp_path / "a.png"))
    assert isinstance(loaded, LoadedImage)
    assert loaded.rgb.dtype == np.uint8 and loaded.rgb.shape == (501, 333, 3)
    assert np.array_equal(loaded.rgb, arr)
    assert loaded.size == (333, 501) and loaded.alpha is None
    assert loaded.path == str(tmp_path / "a.png")


def test_rgba_composited_on_white_alpha_kept(tmp_path):
    arr = np.zeros((10, 12, 4), np.uint8)
    arr[..., :3] = (10, 20, 30)
    arr[:, :6, 3] = 255  # left half opaque, right half fully transparent (colour: junk black)
    arr[:, 6:9, 3] = 0
    arr[:, 9:, 3] = 128
    loaded = read_image(_save(Image.fromarray(arr), tmp_path / "a.png"))
    assert np.array_equal(loaded.alpha, arr[..., 3])
    assert (loaded.rgb[:, :6] == (10, 20, 30)).all()
    assert (loaded.rgb[:, 6:9] == 255).all()  # transparent -> white, not the junk black
    assert np.abs(loaded.rgb[:, 9:].astype(int) - (133, 138, 143)).max() <= 1


def test_opaque_rgba_has_no_alpha(tmp_path):
    arr = np.full((5, 5, 4), 255, np.uint8)
    assert read_image(_save(Image.fromarray(arr), tmp_path / "a.png")).alpha is None


def test_grey_l(tmp_path):
    arr = np.arange(0, 250, 10, dtype=np.uint8).reshape(5, 5)
    rgb = read_image(_save(Image.fromarray(arr), tmp_path / "a.png")).rgb
    assert rgb.shape == (5, 5, 3) and all(np.array_equal(rgb[..., c], arr) for c in range(3))


def test_grey_la(tmp_path):
    img = Image.merge("LA", [Image.new("L", (4, 3), 90), Image.new("L", (4, 3), 0)])
    img.putpixel((0, 0), (90, 255))
    loaded = read_image(_save(img, tmp_path / "a.png"))
    assert tuple(loaded.rgb[0, 0]) == (90, 90, 90)
    assert (loaded.rgb[1:] == 255).all() and loaded.alpha[0, 0] == 255 and loaded.alpha[1, 1] == 0


def test_palette(tmp_path):
    src = Image.fromarray(np.random.default_rng(1).integers(0, 256, (20, 30, 3), np.uint8))
    pal = src.quantize(16)
    loaded = read_image(_save(pal, tmp_path / "a.png"))
    assert np.array_equal(loaded.rgb, np.asarray(pal.convert("RGB")))
    assert loaded.alpha is None


def test_palette_with_transparency(tmp_path):
    pal = Image.new("P", (8, 8), 1)
    pal.putpalette([0, 0, 0, 200, 10, 10] + [0] * 762)
    for x in range(4):
        pal.putpixel((x, 0), 0)
    loaded = read_image(_save(pal, tmp_path / "a.png", transparency=0))
    assert loaded.alpha is not None
    assert (loaded.alpha[0, :4] == 0).all() and (loaded.alpha[1:] == 255).all()
    assert (loaded.rgb[0, :4] == 255).all() and tuple(loaded.rgb[5, 5]) == (200, 10, 10)


def test_band_wise_conversion_matches_whole(tmp_path, monkeypatch):
    from bgremove.imaging import colour

    rng = np.random.default_rng(6)
    pal = Image.fromarray(rng.integers(0, 256, (50, 40, 3), np.uint8)).quantize(32)
    images = [Image.fromarray(rng.integers(0, 256, (50, 40, 3), np.uint8)), pal,
              Image.fromarray(rng.integers(0, 256, (50, 40), np.uint8))]
    monkeypatch.setattr(colour, "BAND_PIXELS", 40 * 7)  # 7-row bands
    for i, img in enumerate(images):
        path = _save(img, tmp_path / f"{i}.png", **({"transparency": 3} if i == 1 else {}))
        loaded = read_image(path)
        with Image.open(path) as ref:
            rgba = np.asarray(ref.convert("RGBA"))
        assert loaded.rgb.flags.writeable
        if loaded.alpha is None:
            assert np.array_equal(loaded.rgb, rgba[..., :3])
        else:
            assert i == 1 and np.array_equal(loaded.alpha, rgba[..., 3])
            opaque = rgba[..., 3] == 255
            assert np.array_equal(loaded.rgb[opaque], rgba[..., :3][opaque])


def test_cmyk_without_profile_plain_conversion(tmp_path):
    img = Image.new("CMYK", (6, 4), (255, 0, 0, 0))  # pure cyan ink
    loaded = read_image(_save(img, tmp_path / "a.tif"))
    assert tuple(loaded.rgb[0, 0]) == (0, 255, 255)


def test_cmyk_goes_through_its_icc_profile(tmp_path):
    img = Image.new("CMYK", (6, 4), (255, 0, 0, 0))
    loaded = read_image(_save(img, tmp_path / "a.tif", icc_profile=cmyk_profile()))
    r, g, b = (int(v) for v in loaded.rgb[0, 0])
    assert r > 180 and g < 150, (r, g, b)  # the profile's pink, not the formula's cyan
    assert loaded.icc_profile is None  # now sRGB: the CMYK profile must not be embedded


def test_cmyk_jpeg_with_broken_profile_falls_back(tmp_path):
    img = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # red in CMYK
    path = _save(img, tmp_path / "a.jpg", icc_profile=b"not really a profile" * 10, quality=100)
    r, g, b = (int(v) for v in read_image(path).rgb[8, 8])
    assert r > 240 and g < 15 and b < 15


def test_16_bit_grey_i16(tmp_path):
    arr = np.array([[0, 257, 32896, 65535]], np.uint16)
    path = _save(Image.fromarray(arr), tmp_path / "a.png")
    with Image.open(path) as check:
        assert check.mode in ("I;16", "I")
    rgb = read_image(path).rgb
    assert rgb.dtype == np.uint8 and list(rgb[0, :, 0]) == [0, 1, 128, 255]


def test_32_bit_int_grey_i():
    wide = Image.fromarray(np.array([[0, 65535, 32768]], np.int32))
    assert list(read_image(wide).rgb[0, :, 1]) == [0, 255, 128]
    narrow = Image.fromarray(np.array([[0, 100, 255]], np.int32))  # 8-bit values in I
    assert list(read_image(narrow).rgb[0, :, 1]) == [0, 100, 255]


def test_bilevel(tmp_path):
    img = Image.new("1", (9, 7), 0)
    img.putpixel((3, 2), 1)
    rgb = read_image(_save(img, tmp_path / "a.png")).rgb
    assert tuple(rgb[2, 3]) == (255, 255, 255) and rgb.sum() == 255 * 3


def test_exif_rotated_jpeg(tmp_path):
    arr = np.zeros((40, 80, 3), np.uint8)
    arr[:20, :40] = (255, 0, 0)  # red top-left block
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = _save(Image.fromarray(arr), tmp_path / "a.jpg", exif=exif, quality=95)
    rgb = read_image(path).rgb
    assert rgb.shape == (80, 40, 3)
    expected = np.rot90(arr, k=-1)  # clockwise: the red block ends up top-right
    assert np.abs(rgb.astype(int) - expected).mean() < 4
    assert rgb[5, 35, 0] > 200 and rgb[5, 5, 0] < 50


def test_sources_agree(tmp_path):
    arr = np.random.default_rng(2).integers(0, 256, (13, 17, 3), dtype=np.uint8)
    path = _save(Image.fromarray(arr), tmp_path / "a.png")
    for src in (path, str(path), path.read_bytes(), Image.open(path), arr):
        assert np.array_equal(read_image(src).rgb, arr)


def test_arrays():
    grey = np.full((4, 5), 7, np.uint8)
    assert read_image(grey).rgb.shape == (4, 5, 3)
    assert read_image(grey[..., None]).rgb.shape == (4, 5, 3)
    rgba = np.zeros((4, 5, 4), np.uint8)
    assert (read_image(rgba).rgb == 255).all() and (read_image(rgba).alpha == 0).all()
    assert read_image(np.full((2, 2, 3), 65535, np.uint16)).rgb.max() == 255
    with pytest.raises(ImageError, match="shape"):
        read_image(np.zeros((4, 5, 2), np.uint8))
    with pytest.raises(ImageError, match="uint8"):
        read_image(np.zeros((4, 5, 3), np.float64))



def test_jpeg_fast_path_matches_pil(tmp_path, monkeypatch, srgb_icc):
    """Upright RGB JPEGs are decoded by OpenCV: the pixels must be PIL's, for every chroma
    subsampling and progressive files, and the ICC profile must still come through."""
    calls = []
    decode = cv2.imdecode
    monkeypatch.setattr(cv2, "imdecode", lambda *a: calls.append(1) or decode(*a))
    arr = cv2.GaussianBlur(np.random.default_rng(6).integers(0, 256, (61, 83, 3), np.uint8),
                           (0, 0), 1.5)
    icc = srgb_icc
    for i, kw in enumerate((dict(subsampling=0), dict(subsampling=2), dict(progressive=True))):
        path = _save(Image.fromarray(arr), tmp_path / f"{i}.jpg", quality=90, icc_profile=icc, **kw)
        with Image.open(path) as img:
            expected = np.asarray(img.convert("RGB"))
        loaded = read_image(path)
        assert np.array_equal(loaded.rgb, expected) and loaded.icc_profile == icc
        assert np.array_equal(read_image(path.read_bytes()).rgb, expected)
        assert loaded.rgb.flags.c_contiguous and loaded.path == str(path)
    assert len(calls) == 6  # the fast path really ran


def test_jpeg_with_data_after_the_end_marker_still_reads(tmp_path):
    arr = np.full((20, 30, 3), 90, np.uint8)
    path = _save(Image.fromarray(arr), tmp_path / "a.jpg")
    path.write_bytes(path.read_bytes() + b"trailing junk some cameras append")
    assert np.abs(read_image(path).rgb.astype(int) - 90).max() <= 2  # PIL's path reads it
    path.write_bytes(path.read_bytes()[:-40])  # and a truncated file is never half-grey
    with pytest.raises(ImageError, match="truncated"):
        read_image(path)


# ---- bad files -----------------------------------------------------------------------------

def test_truncated_jpeg_and_png(tmp_path):
    arr = np.random.default_rng(3).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    for ext in ("jpg", "png"):
        good = _save(Image.fromarray(arr), tmp_path / f"good.{ext}")
        bad = tmp_path / f"cut.{ext}"
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
        with pytest.raises(ImageError) as e:
            read_image(bad)
        assert str(bad) in str(e.value) and e.value.path == str(bad)


def test_zero_byte_and_not_an_image(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        read_image(empty)
    text = tmp_path / "notes.png"
    text.write_text("hello, not a picture")
    with pytest.raises(ImageError, match="notes.png"):
        read_image(text)
    with pytest.raises(ImageError, match="not found"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(ImageError):
        read_image(b"")


def _png_header_only(w: int, h: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10))


def test_decompression_bomb_rejected_before_decoding(tmp_path):
    huge = tmp_path / "bomb.png"
    huge.write_bytes(_png_header_only(30_000, 30_000))  # 900 MP claimed in a ~60 byte file
    with pytest.raises(ImageError, match="bomb.png.*(pixels|limit)"):
        read_image(huge)
    insane = tmp_path / "insane.png"
    insane.write_bytes(_png_header_only(200_000, 200_000))  # beyond PIL's own bomb limit
    with pytest.raises(ImageError, match="insane.png"):
        read_image(insane)


def test_max_pixels_option(tmp_path):
    path = _save(Image.new("RGB", (100, 50)), tmp_path / "a.png")
    assert read_image(path, max_pixels=5000).size == (100, 50)
    with pytest.raises(ImageError, match="5,000 pixels"):
        read_image(path, max_pixels=4999)
    with pytest.raises(ImageError):
        read_image(np.zeros((100, 50, 3), np.uint8), max_pixels=10)


# ---- ICC ------------------------------------------------------------------------------------

def test_icc_profile_kept_only_when_rgb(tmp_path, srgb_icc):
    icc = srgb_icc
    path = _save(Image.new("RGB", (8, 8), (1, 2, 3)), tmp_path / "a.png", icc_profile=icc)
    assert read_image(path).icc_profile == icc
    grey_icc = bytearray(icc)
    grey_icc[16:20] = b"GRAY"
    grey = _save(Image.new("L", (8, 8)), tmp_path / "g.png", icc_profile=bytes(grey_icc))
    assert read_image(grey).icc_profile is None
