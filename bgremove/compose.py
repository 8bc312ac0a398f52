"""From an image and its alpha mask to the bytes we write: cutout, mask, composite.

Pure numpy/OpenCV plus bgremove.io's encoder. Large images are processed in row strips so a
48 MP photo never needs more than a few strip-sized float32 buffers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import ImageColor

from bgremove.errors import ConfigError
from bgremove.io import encode_image

KINDS = ("cutout", "mask", "composite")
_STRIP_PIXELS = 2_000_000  # rows per strip = this / width: ~24 MB per float32 RGB buffer
ALPHA_LEVELS = (0.02, 0.98)  # see final_alpha
_BLOCK = 256  # decontamination block side: cost ~ contour length x (block + 2 halo)^2 / block
_FG_RADII = (90, 6)  # blur-fusion window sizes (Forte & Pitie 2021): wide then fine


@dataclass(frozen=True)
class OutputOptions:
    """What to write for each image.

    bg_color: when set, also write a composite on that colour ('#FFFFFF', 'FFFFFF', 'white',
        '255,255,255').
    crop: crop every output to the object's bounding box (near-zero alpha and specks ignored),
        grown by `margin`: an int is pixels, a string like '5%' is a percentage of the box's
        longer side.
    decontaminate: re-estimate the colour of semi-transparent edge pixels so the old background
        does not bleed into the cutout and composite (only pixels with 0 < alpha < 1 change).
    threshold: None keeps the soft alpha (minus the sigmoid's faint tails, see final_alpha); a
        value in (0, 1) makes alpha hard (alpha >= threshold).
    """

    cutout: bool = True
    mask: bool = False
    bg_color: str | None = None
    composite_format: str = "jpg"
    cutout_format: str = "png"
    crop: bool = False
    margin: int | str = 0
    png_compression: int = 1
    jpeg_quality: int = 95
    decontaminate: bool = True
    threshold: float | None = None

    def __post_init__(self) -> None:
        if self.composite_format not in ("jpg", "webp", "png"):
            raise ConfigError(
                f"composite format must be jpg, webp or png: {self.composite_format!r}"
            )
        if self.cutout_format not in ("png", "webp"):
            raise ConfigError(f"cutout format must be png or webp: {self.cutout_format!r}")
        if self.bg_color is not None:
            parse_color(self.bg_color)
        margin_pixels(self.margin, 100, 100)
        if not 0 <= self.png_compression <= 9:
            raise ConfigError(f"png compression must be 0..9: {self.png_compression}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ConfigError(f"jpeg quality must be 1..100: {self.jpeg_quality}")
        if self.threshold is not None and not 0.0 < self.threshold < 1.0:
            raise ConfigError(f"threshold must be between 0 and 1: {self.threshold}")
        if not (self.cutout or self.mask or self.bg_color):
            raise ConfigError("nothing to write: ask for a cutout, a mask or a bg colour")


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


def margin_pixels(margin: int | str, box_w: int, box_h: int) -> int:
    """A margin option in pixels: ints are pixels, 'N%' is N% of the box's longer side."""
    if isinstance(margin, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%\s*", margin)
        if m is None:
            if margin.strip().isdigit():
                return int(margin)
            raise ConfigError(f"margin must be pixels (20) or a percentage ('5%'): {margin!r}")
        return round(float(m.group(1)) / 100.0 * max(box_w, box_h))
    if isinstance(margin, bool) or not isinstance(margin, int) or margin < 0:
        raise ConfigError(f"margin must be a non-negative number of pixels: {margin!r}")
    return margin


def output_names(stem: str, options: OutputOptions) -> dict[str, str]:
    """File names for the outputs `options` asks for, keyed by kind.

    cutout: `<stem>.png` (or `.webp`); mask: `<stem>.mask.png`; composite: `<stem>.<jpg|webp|png>`,
    or `<stem>.bg.<ext>` when a cutout with the same extension is written too.
    """
    names: dict[str, str] = {}
    if options.cutout:
        names["cutout"] = f"{stem}.{options.cutout_format}"
    if options.mask:
        names["mask"] = f"{stem}.mask.png"
    if options.bg_color is not None:
        ext = options.composite_format
        clash = names.get("cutout") == f"{stem}.{ext}"
        names["composite"] = f"{stem}.bg.{ext}" if clash else f"{stem}.{ext}"
    return names


def render_outputs(
    rgb: np.ndarray, alpha: np.ndarray, options: OutputOptions, icc_profile: bytes | None = None
) -> dict[str, bytes]:
    """Encode the outputs `options` asks for; `alpha` is HW float32 in [0, 1] at rgb's size.

    Every output uses the same 8-bit alpha, `final_alpha(alpha, options.threshold)`: the mask
    file equals the cutout's alpha channel and the composite is that cutout over the colour.
    """
    a8 = final_alpha(alpha, options.threshold)
    if options.crop:
        box = crop_box(a8, options.margin)
        if box is not None:
            x0, y0, x1, y1 = box
            rgb, a8 = rgb[y0:y1, x0:x1], a8[y0:y1, x0:x1]
    out: dict[str, bytes] = {}
    if options.mask:
        out["mask"] = encode_image(a8, "png", png_compression=options.png_compression)
    if not (options.cutout or options.bg_color is not None):
        return out
    rgba = _rgba(rgb, a8)
    fg = rgba[..., :3]  # a view: decontamination writes into the cutout, no extra full copy
    if options.decontaminate:
        decontaminate(rgb, a8, out=fg)
    if options.cutout:
        out["cutout"] = encode_image(
            rgba, options.cutout_format, png_compression=options.png_compression,
            icc_profile=icc_profile, lossless=True,
        )
    if options.bg_color is not None:
        comp = _composite_u8(fg, a8, parse_color(options.bg_color))
        out["composite"] = encode_image(
            comp, options.composite_format, quality=options.jpeg_quality,
            png_compression=options.png_compression, icc_profile=icc_profile,
        )
    return out


def final_alpha(alpha: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """The 8-bit alpha we write: hard at `threshold` if given, else soft with the model's
    sigmoid tails cut: below ALPHA_LEVELS[0] is 0, above ALPHA_LEVELS[1] is 1, linear between.

    Why the cut: a sigmoid never reaches 0 or 1, so raw probabilities leave a faint haze (alpha
    1-3 of 255) over the whole background. It is invisible but keeps the background's colours in
    the cutout (bigger, slower PNGs) and defeats "is this pixel transparent?" checks.
    """
    if threshold is not None:
        return alpha_to_uint8(alpha >= threshold if alpha.dtype != np.uint8
                              else alpha >= round(threshold * 255))
    return alpha_to_uint8(alpha, *ALPHA_LEVELS)


def alpha_to_uint8(alpha: np.ndarray, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """HW float alpha -> uint8, after mapping [lo, hi] to [0, 1]; bool -> 0/255."""
    if alpha.dtype == np.uint8:
        return alpha
    if alpha.dtype == bool:
        return alpha.astype(np.uint8) * np.uint8(255)
    gain = 255.0 / (hi - lo)
    out = np.empty(alpha.shape, np.uint8)
    for y0, y1 in _strips(alpha.shape[0], alpha.shape[1]):
        out[y0:y1] = np.clip((alpha[y0:y1] - lo) * gain + 0.5, 0, 255).astype(np.uint8)
    return out


def cutout_rgba(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """HWC uint8 RGBA; colour under fully transparent pixels is zeroed (smaller files)."""
    return _rgba(rgb, alpha_to_uint8(alpha))


def _rgba(rgb: np.ndarray, a8: np.ndarray) -> np.ndarray:
    out = np.empty(rgb.shape[:2] + (4,), np.uint8)
    for y0, y1 in _strips(*a8.shape):  # strips: temporaries stay small on 48 MP images
        a = a8[y0:y1]
        visible = cv2.bitwise_and(rgb[y0:y1], rgb[y0:y1], mask=(a > 0).view(np.uint8))
        out[y0:y1] = cv2.merge([*cv2.split(visible), a])  # 10x faster than a boolean index
    return out


def composite(rgb: np.ndarray, alpha: np.ndarray, color: str | tuple[int, int, int]) -> np.ndarray:
    """rgb over a solid colour, HWC uint8; the same maths a viewer applies to the cutout."""
    c = parse_color(color) if isinstance(color, str) else tuple(color)
    return _composite_u8(rgb, alpha_to_uint8(alpha), c)


def _composite_u8(rgb: np.ndarray, a8: np.ndarray, color: tuple[int, ...]) -> np.ndarray:
    out = np.empty_like(rgb)
    bg = np.asarray(color, np.uint16)
    for y0, y1 in _strips(rgb.shape[0], rgb.shape[1]):
        a = a8[y0:y1, :, None].astype(np.uint16)
        mixed = rgb[y0:y1].astype(np.uint16) * a + bg * (255 - a) + 127
        out[y0:y1] = mixed // 255
    return out


def crop_box(
    alpha: np.ndarray, margin: int | str = 0, noise: float = 0.05, speck: float = 0.01
) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the object, exclusive ends, grown by `margin` and clipped to the image.

    Pixels with alpha < `noise` are ignored, and so are connected pieces smaller than `speck`
    times the largest piece (dust, stray predictions). None when nothing is left.
    """
    a8 = alpha_to_uint8(alpha)
    binary = (a8 >= max(1, round(noise * 255))).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if n <= 1:
        return None
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = stats[1:][areas >= speck * areas.max()]
    x0 = int(keep[:, cv2.CC_STAT_LEFT].min())
    y0 = int(keep[:, cv2.CC_STAT_TOP].min())
    x1 = int((keep[:, cv2.CC_STAT_LEFT] + keep[:, cv2.CC_STAT_WIDTH]).max())
    y1 = int((keep[:, cv2.CC_STAT_TOP] + keep[:, cv2.CC_STAT_HEIGHT]).max())
    m = margin_pixels(margin, x1 - x0, y1 - y0)
    h, w = alpha.shape[:2]
    return max(0, x0 - m), max(0, y0 - m), min(w, x1 + m), min(h, y1 + m)


def decontaminate(rgb: np.ndarray, alpha: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Foreground colour estimate F (HWC uint8): rgb with edge pixels' background bleed removed.

    `alpha` is HW float in [0, 1] or uint8. With `out` (HWC, may be a view such as a cutout's
    colour channels) only the changed pixels are written there; otherwise a copy of rgb is used.

    Blur-fusion foreground estimation (Forte & Pitie, 'Approximate Fast Foreground Colour
    Estimation', ICIP 2021), run twice (wide window, then fine). Only pixels whose 8-bit alpha is
    strictly between 0 and 255 change (a model's sigmoid is never exactly 0 or 1 in float).
    Computed in blocks with a halo as wide as the blur reach, so the result equals a whole-image
    pass; blocks without edge pixels are skipped, which on a product shot is most of them.
    """
    out = rgb.copy() if out is None else out
    h, w = alpha.shape[:2]
    halo = sum(r // 2 + 1 for r in _FG_RADII)
    for y0, y1, x0, x1 in _blocks(h, w, _BLOCK):
        a8 = alpha_to_uint8(alpha[y0:y1, x0:x1])
        soft = (a8 > 0) & (a8 < 255)
        if not soft.any():
            continue
        hy0, hy1 = max(0, y0 - halo), min(h, y1 + halo)
        hx0, hx1 = max(0, x0 - halo), min(w, x1 + halo)
        f = _blur_fusion(rgb[hy0:hy1, hx0:hx1], _as_float(alpha[hy0:hy1, hx0:hx1]))
        out[y0:y1, x0:x1][soft] = f[y0 - hy0 : y1 - hy0, x0 - hx0 : x1 - hx0][soft]
    return out


def _as_float(alpha: np.ndarray) -> np.ndarray:
    if alpha.dtype == np.uint8:
        return alpha.astype(np.float32) * (1.0 / 255.0)
    return alpha


def _blocks(h: int, w: int, size: int):
    for y0 in range(0, h, size):
        for x0 in range(0, w, size):
            yield y0, min(h, y0 + size), x0, min(w, x0 + size)


def _blur_fusion(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    img = rgb.astype(np.float32) * (1.0 / 255.0)
    a = np.clip(alpha.astype(np.float32), 0.0, 1.0)[..., None]
    f, b = img, img
    for r in _FG_RADII:
        f, b = _fb_step(img, f, b, a, r)
    return np.clip(f * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _fb_step(img, f, b, a, r: int):
    blur_a = cv2.blur(a, (r, r))[..., None]
    blur_f = cv2.blur(f * a, (r, r)) / (blur_a + 1e-5)
    blur_b = cv2.blur(b * (1.0 - a), (r, r)) / ((1.0 - blur_a) + 1e-5)
    f = blur_f + a * (img - a * blur_f - (1.0 - a) * blur_b)
    return np.clip(f, 0.0, 1.0), blur_b


def _strips(h: int, w: int):
    step = max(1, _STRIP_PIXELS // max(w, 1))
    for y0 in range(0, h, step):
        yield y0, min(h, y0 + step)
