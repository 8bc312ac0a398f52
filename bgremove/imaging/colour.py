"""PIL images of any mode as HWC uint8 RGB (plus the alpha they carried); colour over a solid
colour by an alpha (`blend_over`: composites, transparent inputs flattened onto white); colour
options (`parse_color`).

CMYK through its ICC profile when it has one, 16-bit and float grey scaled to 8 bits, palette and
grey transparency kept as alpha; large images converted in row bands so a 48 MP photo is never
held three times over.
"""

from __future__ import annotations

import io
import re

import cv2
import numpy as np
from PIL import Image, ImageCms, ImageColor

from bgremove.errors import ConfigError

BAND_PIXELS = 4_000_000


def cmyk_to_rgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    if icc:
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            dst = ImageCms.createProfile("sRGB")
            return ImageCms.profileToProfile(img, src, dst, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile should not lose the image: fall back to the naive formula
    return img.convert("RGB")


def to_rgb(img: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    mode = img.mode
    if mode.startswith("I") or mode == "F":
        return wide_grey_to_rgb(img), None
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode in ("P", "L", "RGB") and "transparency" in img.info
    )
    if not has_alpha:
        return to_array(img, "RGB"), None
    rgba = to_array(img, "RGBA")
    alpha = np.ascontiguousarray(rgba[..., 3])
    if alpha.min() == 255:
        return np.ascontiguousarray(rgba[..., :3]), None
    return over_white(rgba, alpha), alpha


def to_array(img: Image.Image, mode: str) -> np.ndarray:
    """np.asarray(img.convert(mode)), in row bands: converting and copying a 48 MP image whole
    holds three full-size copies at once (PIL's, tobytes' chunks and their join)."""
    w, h = img.size
    out = np.empty((h, w, len(mode)), np.uint8)
    step = max(1, BAND_PIXELS // w)
    for y0 in range(0, h, step):
        band = img.crop((0, y0, w, min(h, y0 + step)))
        out[y0 : y0 + step] = np.asarray(band if band.mode == mode else band.convert(mode))
    return out


def wide_grey_to_rgb(img: Image.Image) -> np.ndarray:
    arr = np.asarray(img)
    if img.mode == "F":
        top = 1.0 if float(np.nanmax(arr)) <= 1.0 else 255.0
    elif img.mode.startswith("I;16"):
        top = 65535.0
    else:
        top = 65535.0 if int(arr.max()) > 255 else 255.0
    grey = np.clip(np.nan_to_num(arr.astype(np.float32)) * (255.0 / top) + 0.5, 0, 255)
    grey = grey.astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def over_white(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """`colour` (RGB, or RGBA whose colour is used) over white, by its uint8 `alpha`."""
    return blend_over(colour, alpha, (255, 255, 255))


def blend_over(colour: np.ndarray, a8: np.ndarray, color: tuple[int, ...],
               bgr: bool = False) -> np.ndarray:
    """HWC uint8 RGB: round((colour x a + color x (255 - a)) / 255) per channel. `colour` is
    RGB, or RGBA (BGRA with `bgr`) whose colour is taken strip by strip.

    Whole-plane products with OpenCV/numpy: broadcasting alpha over a trailing axis of 3 ran
    numpy's loops 3 elements at a time (~44 ms at 1600x1200 in a worker, now ~7, the same bytes
    for every colour, alpha and background value). The division rounds to nearest: x / 255 is
    never within 1/510 of a half, far beyond float32's error, so OpenCV's float rounding is exact.
    """
    h, w = a8.shape
    out = np.empty((h, w, 3), np.uint8)
    rows = max(1, BAND_PIXELS // max(w, 1))
    for y0 in range(0, h, rows):
        part, a = colour[y0 : y0 + rows], a8[y0 : y0 + rows]
        if part.shape[2] == 4:
            part = cv2.cvtColor(part, cv2.COLOR_BGRA2RGB if bgr else cv2.COLOR_RGBA2RGB)
        mixed = np.multiply(part, cv2.merge([a] * 3), dtype=np.uint16)
        inverse = cv2.bitwise_not(a).astype(np.uint16)  # 255 - a
        mixed += cv2.merge([inverse * np.uint16(c) for c in color])
        out[y0 : y0 + rows] = cv2.convertScaleAbs(mixed, alpha=1.0 / 255.0)
    return out


def is_rgb_profile(icc: bytes | None) -> bool:
    # ICC header: the data colour space signature sits at bytes 16..20.
    return bool(icc) and len(icc) >= 20 and icc[16:20] == b"RGB "


def parse_color(text: str) -> tuple[int, int, int]:
    """'#FFFFFF', 'FFFFFF', '#fff', 'white' or '255,255,255' -> (r, g, b)."""
    s = text.strip()
    if re.fullmatch(r"\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}", s):
        rgb = tuple(int(v) for v in s.split(","))
        if all(0 <= v <= 255 for v in rgb):
            return rgb  # type: ignore[return-value]
    elif re.fullmatch(r"[0-9a-fA-F]{6}|[0-9a-fA-F]{3}", s):
        s = "#" + s
    try:
        return ImageColor.getrgb(s)[:3]
    except ValueError:
        raise ConfigError(f"not a colour: {text!r} (use #RRGGBB, a name or r,g,b)") from None
