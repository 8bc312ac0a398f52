"""A generated corpus of hostile image files, the kind a catalog collects over the years.

`build(folder)` writes every file and returns {relative path: kind}:
- "valid": odd but sound files (1x1, 1xN, CMYK, 16-bit, palette, animated, every EXIF
  orientation, grey ICC profiles, transparent...): they must be processed.
- "bad": files whose damage a decoder or a structure check can see (zero bytes, truncations,
  damaged PNG chunks, broken headers, absurd dimensions, wrong extensions, non-images, padding
  beyond what the pixels need): each must be reported, failed or flagged.
- "blind": single flipped bytes in data that carries no checksum (JPEG quantisation tables and
  entropy-coded data, BMP and TIFF headers and raw pixels, lossy WebP): some are harmless
  (exactly the pixels of the file they were made from, `origin[rel]`), some are caught, and some
  decode to other pixels that no decoder can tell from the real ones. They must not crash
  anything; bench/bench_corpus.py counts each outcome.

Deterministic (seeded): the same corpus every run. Used by tests/test_corpus.py and
bench/bench_corpus.py.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

CUTS = tuple(k / 20 for k in range(1, 20)) + (0.98, 0.995)


def _picture(w: int = 64, h: int = 48, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 250, np.uint8)
    img[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = rng.integers(20, 200, 3)
    return np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8)


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _sources() -> dict[str, bytes]:
    """Sound encodings: {name: bytes}; the name's extension says the format."""
    rgb = Image.fromarray(_picture())
    rgba = rgb.convert("RGBA")
    rgba.putalpha(Image.fromarray(np.where(_picture()[..., 0] > 200, 0, 255).astype(np.uint8)))
    frames = [Image.fromarray(np.roll(_picture(seed=k), 5 * k, 1)) for k in range(3)]
    deep = (np.asarray(rgb.convert("L"), np.uint16) * 257)
    out = {
        "base.jpg": _save(rgb, "JPEG", quality=90),
        "progressive.jpg": _save(rgb, "JPEG", quality=90, progressive=True),
        "grey.jpg": _save(rgb.convert("L"), "JPEG"),
        "cmyk.jpg": _save(rgb.convert("CMYK"), "JPEG"),
        "rgb.png": _save(rgb, "PNG"),
        "rgba.png": _save(rgba, "PNG"),
        "palette.png": _save(rgb.convert("P"), "PNG"),
        "grey16.png": _save(Image.fromarray(deep), "PNG"),
        "animated.png": _save(frames[0], "PNG", save_all=True, append_images=frames[1:]),
        "lossy.webp": _save(rgb, "WEBP", quality=80),
        "lossless.webp": _save(rgba, "WEBP", lossless=True),
        "animated.webp": _save(frames[0], "WEBP", save_all=True, append_images=frames[1:]),
        "rgb.bmp": _save(rgb, "BMP"),
        "palette.bmp": _save(rgb.convert("P"), "BMP"),
        "raw.tif": _save(rgb, "TIFF"),
        "lzw.tif": _save(rgb, "TIFF", compression="tiff_lzw"),
        "deflate.tif": _save(rgba, "TIFF", compression="tiff_adobe_deflate"),
        "cmyk.tif": _save(rgb.convert("CMYK"), "TIFF"),
    }
    return out


def _valid() -> dict[str, bytes]:
    pic = _picture()
    out = {f"one_pixel.{ext}": _save(Image.fromarray(pic[:1, :1]), fmt)
           for ext, fmt in (("jpg", "JPEG"), ("png", "PNG"), ("webp", "WEBP"), ("bmp", "BMP"),
                            ("tif", "TIFF"))}
    for w, h in ((1, 37), (37, 1), (2, 2), (3, 1000)):
        out[f"strip_{w}x{h}.png"] = _save(Image.fromarray(_picture(w, h)), "PNG")
        out[f"strip_{w}x{h}.jpg"] = _save(Image.fromarray(_picture(w, h)), "JPEG")
    rgb = Image.fromarray(pic)
    for mode in ("1", "L", "LA", "P", "PA", "I", "I;16", "F", "RGBA", "RGBX", "YCbCr", "LAB"):
        fmt, ext = ("TIFF", "tif") if mode in ("I", "F", "YCbCr", "LAB", "RGBX") else ("PNG", "png")
        if mode == "PA":
            fmt, ext = "PNG", "png"
            img = rgb.convert("P").convert("PA")
        else:
            img = rgb.convert(mode) if mode not in ("I;16",) else rgb.convert("I").convert("I;16")
        try:
            out[f"mode_{mode.replace(';', '')}.{ext}"] = _save(img, fmt)
        except (OSError, ValueError, KeyError):
            continue
    transparent = rgb.convert("RGBA")
    transparent.putalpha(0)
    out["all_transparent.png"] = _save(transparent, "PNG")
    pal = rgb.convert("P")
    pal.info["transparency"] = 0
    out["palette_transparency.png"] = _save(pal, "PNG", transparency=0)
    for o in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = o
        out[f"orientation_{o}.jpg"] = _save(rgb, "JPEG", exif=exif.tobytes())
    out["orientation_junk.jpg"] = _save(rgb, "JPEG", exif=_exif_with_orientation(9))
    from PIL import ImageCms

    grey_icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    out["foreign_icc.jpg"] = _save(rgb, "JPEG", icc_profile=grey_icc)
    out["huge_comment.png"] = _png_with_chunk(_save(rgb, "PNG"), b"tEXt", b"c\0" + b"x" * 500_000)
    out["jpeg_zero_padded.jpg"] = _save(rgb, "JPEG") + b"\0" * 300_000
    return out


def _exif_with_orientation(value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    return exif.tobytes()


def _png_with_chunk(png: bytes, kind: bytes, data: bytes, crc: int | None = None) -> bytes:
    """`png` with a chunk inserted right after IHDR."""
    crc = zlib.crc32(kind + data) if crc is None else crc
    chunk = struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc & 0xFFFFFFFF)
    return png[:33] + chunk + png[33:]


def _bad(sources: dict[str, bytes]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for ext in ("jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff"):
        out[f"empty.{ext}"] = b""
    for name, data in sources.items():
        stem, ext = name.rsplit(".", 1)
        for cut in CUTS:
            out[f"cut{int(cut * 1000):03d}_{stem}.{ext}"] = data[: max(1, int(len(data) * cut))]
        out[f"cut_last2_{stem}.{ext}"] = data[:-2]
        out[f"header_only_{stem}.{ext}"] = data[:24]
    for name in ("rgb.png", "rgba.png", "palette.png", "grey16.png", "animated.png"):
        data = sources[name]
        for k in range(20):  # a flipped byte anywhere in a PNG: every chunk has a CRC
            pos = 8 + (len(data) - 9) * k // 19
            out[f"flip{k:02d}_{name}"] = _flip(data, pos)
    out.update(_broken_structure(sources))
    out.update(_absurd_dimensions(sources))
    out.update(_not_images(sources))
    return out


def _flip(data: bytes, pos: int, mask: int = 0x5A) -> bytes:
    b = bytearray(data)
    b[pos] ^= mask
    return bytes(b)


def _broken_structure(sources: dict[str, bytes]) -> dict[str, bytes]:
    jpg, png, apng = sources["base.jpg"], sources["rgb.png"], sources["animated.png"]
    sos = jpg.index(b"\xff\xda")
    out = {
        # The scan cut in the middle, the end marker kept: libjpeg pads with grey and warns.
        "scan_cut_eoi_kept.jpg": jpg[: (sos + len(jpg)) // 2] + b"\xff\xd9",
        "scan_cut_zero_padded.jpg": jpg[: (sos + len(jpg)) // 2] + b"\0" * 4096,
        "png_cut_in_iend.png": png[:-6],
        "png_bad_text_crc.png": _png_with_chunk(png, b"tEXt", b"k\0v", crc=1),
        "apng_first_frame_only.png": apng[: apng.index(b"fcTL", apng.index(b"IDAT")) - 4]
        + png[-12:],
        "apng_cut_after_first_frame.png": apng[: apng.index(b"fcTL", apng.index(b"IDAT")) - 4],
        "bmp_short_pixels.bmp": sources["rgb.bmp"][:-500],
        "webp_riff_too_long.webp": sources["lossy.webp"][:-100],
    }
    out["exif_garbage.jpg"] = _save(Image.fromarray(_picture()), "JPEG",
                                    exif=b"Exif\0\0MM\0*" + bytes(range(256)) * 4)
    return out


def _blind(sources: dict[str, bytes]) -> dict[str, tuple[bytes, str]]:
    """{name: (bytes, the source's name)}: one byte flipped in a header or in unchecked data."""
    out = {}
    for name, span in (("base.jpg", 160), ("rgb.bmp", 54), ("raw.tif", 200), ("lossy.webp", 40),
                       ("lossless.webp", 30)):
        data = sources[name]
        for k in range(16):
            out[f"head{k:02d}_{name}"] = (_flip(data, 2 + (span - 3) * k // 15, 0xFF), name)
    for name in ("base.jpg", "progressive.jpg", "rgb.bmp", "lossy.webp"):
        data = sources[name]
        start = data.index(b"\xff\xda") + 20 if name.endswith(".jpg") else len(data) // 4
        for k in range(20):
            pos = start + (len(data) - 4 - start) * k // 20
            out[f"data{k:02d}_{name}"] = (_flip(data, pos), name)
    return out


def _absurd_dimensions(sources: dict[str, bytes]) -> dict[str, bytes]:
    png, bmp, jpg = sources["rgb.png"], sources["rgb.bmp"], sources["base.jpg"]
    out = {}
    for w, h in ((100_000, 100_000), (70_000, 1), (20_000, 20_000), (0, 48), (2 ** 31 - 1, 1)):
        ihdr = struct.pack(">II", w, h) + png[24:29]
        out[f"png_dims_{w}x{h}.png"] = png[:16] + ihdr + struct.pack(
            ">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF) + png[33:]
    for w, h in ((60_000, 60_000), (1, 2_000_000), (0, 10)):
        out[f"bmp_dims_{w}x{h}.bmp"] = bmp[:18] + struct.pack("<ii", w, h) + bmp[26:]
    sof = jpg.index(b"\xff\xc0")
    for w, h in ((65_000, 65_000), (0, 0), (9_000, 9_000)):
        out[f"jpeg_dims_{w}x{h}.jpg"] = jpg[: sof + 5] + struct.pack(">HH", h, w) + jpg[sof + 9:]
    return out


def _not_images(sources: dict[str, bytes]) -> dict[str, bytes]:
    gif = _save(Image.fromarray(_picture()), "GIF")
    return {
        "text.jpg": b"this is not an image\n" * 10,
        "html.png": b"<html><body>404 Not Found</body></html>",
        "zip.webp": b"PK\x03\x04" + bytes(200),
        "pdf.tif": b"%PDF-1.4\n" + bytes(100),
        "random.bmp": np.random.default_rng(3).integers(0, 256, 5000, np.uint8).tobytes(),
        "gif_named.png": gif,
        "png_named.jpg": sources["rgb.png"],
        "jpeg_named.png": sources["base.jpg"],
        "webp_named.jpg": sources["lossy.webp"],
        "bmp_named.tif": sources["rgb.bmp"],
        "tiff_named.bmp": sources["raw.tif"],
        "png_garbage_after_iend.png": sources["rgb.png"] + b"GARBAGE" * 1000,
    }


def build(folder: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Write the corpus under `folder`. Returns ({relative path: "valid" | "bad" | "blind"},
    {relative path of a "blind" file: relative path of the sound file it was made from})."""
    sources = _sources()
    blind = _blind(sources)
    groups = {"valid": {**sources, **_valid()}, "bad": _bad(sources),
              "blind": {name: data for name, (data, _) in blind.items()}}
    kinds = {}
    for kind, files in groups.items():
        for name, data in files.items():
            rel = f"{kind}/{name}"
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            kinds[rel] = kind
    origin = {f"blind/{name}": f"valid/{src}" for name, (_, src) in blind.items()}
    return kinds, origin
