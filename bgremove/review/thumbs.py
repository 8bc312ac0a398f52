"""Thumbnails as data: URIs, so the review page is one file that opens anywhere, offline.

Originals and masks as JPEG, cutouts as WebP with their transparency (the page lays them on a
checkerboard). A JPEG original is decoded at 1/2 to 1/8 scale (PIL's draft mode), so a 12 MP
photo costs a few milliseconds. A file that cannot be read gives None (the page says so): a
review must show the images that failed too.
"""

from __future__ import annotations

import base64
import io
import warnings
from pathlib import Path

from PIL import Image, ImageOps

SIDE = 200  # px, the longer side of every thumbnail
_MAX_PIXELS = 64_000_000  # as a run's default --max-pixels: a bomb is not opened for a review


def _open(path: Path) -> Image.Image | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # decoders' complaints: the run reported them
            img = Image.open(path)
            if img.width * img.height > _MAX_PIXELS:
                return None
            img.draft("RGB", (SIDE, SIDE))  # JPEG: decode at a reduced scale
            img.load()
            return ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - whatever is wrong with the file, the page goes on
        return None


def _uri(img: Image.Image, fmt: str) -> str:
    img.thumbnail((SIDE, SIDE), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    if fmt == "webp":
        img.save(buf, "WEBP", quality=80, method=4)
    else:
        img.save(buf, "JPEG", quality=80)
    return f"data:image/{fmt};base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def original(path: Path | None) -> str | None:
    img = _open(path) if path is not None else None
    return _uri(img.convert("RGB"), "jpeg") if img is not None else None


def output(path: Path) -> tuple[str, bool] | None:
    """(data URI, whether it has transparency) for a cutout or composite output."""
    img = _open(path)
    if img is None:
        return None
    alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
    if alpha:
        return _uri(img.convert("RGBA"), "webp"), True
    return _uri(img.convert("RGB"), "jpeg"), False


def mask(path: Path | None) -> str | None:
    img = _open(path) if path is not None else None
    return _uri(img.convert("L"), "jpeg") if img is not None else None


def alpha_of(path: Path) -> str | None:
    """The mask as a cutout's alpha channel, when no mask file was kept."""
    img = _open(path)
    if img is None or img.mode not in ("RGBA", "LA", "PA"):
        return None
    return _uri(img.convert("RGBA").getchannel("A"), "jpeg")
