"""Encoding an output image to bytes: PNG (OpenCV), JPEG and WebP (PIL), ICC profile kept."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
from PIL import Image


def encode_image(
    arr: np.ndarray,
    fmt: str,
    *,
    quality: int = 95,
    png_compression: int = 1,
    icc_profile: bytes | None = None,
    lossless: bool = False,
    bgr: bool = False,
) -> bytes:
    """Encode HWC RGB/RGBA or HW grey uint8 as 'png', 'jpg'/'jpeg' or 'webp'; with `bgr`, arr
    is BGR/BGRA (OpenCV's order: PNG then needs no channel swap).

    PNG goes through OpenCV with the 'up' row filter: measured on catalog cutouts (1600x1200 and
    4000x3000 RGBA), 2.2-2.5x faster than PIL's compress_level 1 (whose adaptive filter choice
    is most of its cost) and the files were 0-10% smaller; on native-resolution photos within
    +-2%. An ICC profile is added as an iCCP chunk. JPEG and WebP stay with PIL (its JPEG was
    as fast as OpenCV's, and it embeds profiles). Lossless WebP uses method 1 / quality 25:
    ~1.5x faster than libwebp's default for ~10% more bytes, still about half a PNG's size.
    """
    fmt = fmt.lower().lstrip(".")
    if fmt == "png":
        return _encode_png(np.ascontiguousarray(arr), int(png_compression), icc_profile, bgr)
    if bgr and arr.ndim == 3:
        arr = arr[..., [2, 1, 0, 3][: arr.shape[2]]]
    img = Image.fromarray(np.ascontiguousarray(arr))
    kw: dict = {}
    if icc_profile:
        kw["icc_profile"] = icc_profile
    buf = io.BytesIO()
    if fmt in ("jpg", "jpeg"):
        if img.mode == "RGBA":
            raise ValueError("JPEG has no alpha channel: composite the cutout on a colour first")
        img.save(buf, format="JPEG", quality=int(quality), **kw)
    elif fmt == "webp":
        if lossless:
            img.save(buf, format="WEBP", lossless=True, quality=25, method=1, exact=False, **kw)
        else:
            img.save(buf, format="WEBP", quality=int(quality), method=4, **kw)
    else:
        raise ValueError(f"unknown image format {fmt!r}: expected png, jpg or webp")
    return buf.getvalue()


def _encode_png(arr: np.ndarray, level: int, icc_profile: bytes | None, bgr: bool) -> bytes:
    channels = arr.shape[2] if arr.ndim == 3 else 1
    if arr.dtype != np.uint8 or arr.ndim not in (2, 3) or channels not in (1, 3, 4):
        raise ValueError(f"PNG needs HW, HWC RGB or RGBA uint8, got {arr.dtype} {arr.shape}")
    if channels > 1 and not bgr:  # OpenCV writes BGR(A)
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR if channels == 3 else cv2.COLOR_RGBA2BGRA)
    params = [cv2.IMWRITE_PNG_COMPRESSION, level, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP]
    ok, buf = cv2.imencode(".png", arr, params)
    if not ok:
        raise ValueError(f"cannot encode a {arr.shape} image as PNG")
    data = buf.tobytes()
    return _with_icc(data, icc_profile) if icc_profile else data


def _with_icc(png: bytes, icc_profile: bytes) -> bytes:
    """`png` with an iCCP chunk right after IHDR (it must precede the image data)."""
    body = b"ICC Profile\0\0" + zlib.compress(icc_profile)  # name, NUL, method 0 (deflate)
    chunk = (struct.pack(">I", len(body)) + b"iCCP" + body
             + struct.pack(">I", zlib.crc32(b"iCCP" + body)))
    end = 8 + 8 + 13 + 4  # signature, IHDR length/type, its 13 data bytes, CRC
    return png[:end] + chunk + png[end:]
