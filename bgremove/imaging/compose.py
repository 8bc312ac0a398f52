"""From an image and its alpha mask to the bytes we write: cutout, mask, composite.

Pure numpy/OpenCV plus encode.py (bytes) and foreground.py (decontamination). Large
images are processed in row strips so a 48 MP photo never needs more than a few strip-sized
float32 buffers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from bgremove.imaging import canvas as canvas_mod
from bgremove.imaging.colour import blend_over, parse_color
from bgremove.imaging.encode import encode_image
from bgremove.imaging.foreground import decontaminate
from bgremove.imaging.outputs import OutputOptions, margin_pixels
from bgremove.imaging.png import fast_path as png_fast_path

_STRIP_PIXELS = 2_000_000  # rows per strip = this / width: ~24 MB per float32 RGB buffer
ALPHA_LEVELS = (0.02, 0.98)  # see final_alpha


@dataclass
class Rendered:
    """The encoded outputs by kind, and the review flags rendering raised (UPSCALE_CAPPED)."""

    data: dict[str, bytes]
    flags: list[str] = field(default_factory=list)


def render_outputs(
    rgb: np.ndarray, alpha: np.ndarray, options: OutputOptions, icc_profile: bytes | None = None
) -> dict[str, bytes]:
    """Encode the outputs `options` asks for; `alpha` is HW float32 in [0, 1] at rgb's size."""
    return render(rgb, alpha, options, icc_profile).data


def render(rgb: np.ndarray, alpha: np.ndarray, options: OutputOptions,
           icc_profile: bytes | None = None) -> Rendered:
    """Encode the outputs `options` asks for; `alpha` is HW float32 in [0, 1] at rgb's size, or
    already `final_alpha(alpha, options.threshold)` (uint8): both give the same bytes.

    Every output uses the same 8-bit alpha, `final_alpha(alpha, options.threshold)`: the mask
    file equals the cutout's alpha channel and the composite is that cutout over the colour.
    """
    a8 = final_alpha(alpha, options.threshold)
    if options.canvas is not None:
        return _render_canvas(rgb, a8, options, icc_profile)
    if options.crop:
        box = crop_box(a8, options.margin)
        if box is not None:
            x0, y0, x1, y1 = box
            rgb, a8 = rgb[y0:y1, x0:x1], a8[y0:y1, x0:x1]
    out: dict[str, bytes] = {}
    if options.mask:
        out["mask"] = encode_image(a8, "png", png_compression=options.png_compression)
    if not (options.cutout or options.bg_color is not None):
        return Rendered(out)
    # A PNG cutout that OpenCV will encode is built in its BGRA order: no full-size copy there.
    bgr = options.cutout and options.cutout_format == "png" \
        and not png_fast_path(options.png_compression)
    rgba = _rgba(rgb, a8, bgr)
    if options.decontaminate:
        decontaminate(rgb, a8, out=rgba, bgr=bgr)  # in place: its alpha channel is a8
    if options.cutout:
        out["cutout"] = encode_image(
            rgba, options.cutout_format, png_compression=options.png_compression,
            icc_profile=icc_profile, lossless=True, bgr=bgr,
        )
    if options.bg_color is not None:
        comp = blend_over(rgba, a8, parse_color(options.bg_color), bgr)
        out["composite"] = encode_image(
            comp, options.composite_format, quality=options.jpeg_quality,
            png_compression=options.png_compression, icc_profile=icc_profile,
        )
    return Rendered(out)


def _render_canvas(rgb: np.ndarray, a8: np.ndarray, options: OutputOptions,
                   icc_profile: bytes | None) -> Rendered:
    """The object's box scaled onto the canvas (canvas.py); an empty mask places the whole image."""
    x0, y0, x1, y1 = crop_box(a8) or (0, 0, a8.shape[1], a8.shape[0])
    rgb, a8 = rgb[y0:y1, x0:x1], a8[y0:y1, x0:x1]
    fg = decontaminate(rgb, a8) if options.decontaminate else rgb
    fg, a8, capped = canvas_mod.place_on_canvas(fg, a8, options.canvas, options.fill,
                                                options.max_upscale)
    out: dict[str, bytes] = {}
    level = options.png_compression
    if options.mask:
        out["mask"] = encode_image(a8, "png", png_compression=level)
    if options.cutout:
        out["cutout"] = encode_image(_rgba(fg, a8), options.cutout_format, png_compression=level,
                                     icc_profile=icc_profile, lossless=True)
    if options.bg_color is not None:
        out["composite"] = encode_image(
            blend_over(fg, a8, parse_color(options.bg_color)), options.composite_format,
            quality=options.jpeg_quality, png_compression=level, icc_profile=icc_profile)
    return Rendered(out, [canvas_mod.UPSCALE_CAPPED] if capped else [])


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
    # OpenCV when it can take the array: one pass (a*gain + b*0 + offset, saturated to 8 bits,
    # so below lo is 0) instead of numpy's 5 (a 1600x1200 mask: ~5 ms -> ~0.8 ms; a 14 MP one
    # 3.8 ms, against 5.0 for the max + convertScaleAbs before it, same bytes); it rounds exact
    # halves to even, numpy's +0.5 up: 7 in 100001 of a ramp.
    fast = alpha.dtype in (np.float32, np.float64) and alpha.ndim == 2 \
        and alpha.strides[1] == alpha.itemsize
    for y0, y1 in _strips(alpha.shape[0], alpha.shape[1]):
        a = alpha[y0:y1]
        # A 1x1 array is read by OpenCV as a scalar (cv2.max returns 4x1): numpy for that one.
        if fast and a.size > 1:
            out[y0:y1] = cv2.addWeighted(a, gain, a, 0.0, -lo * gain, dtype=cv2.CV_8U)
        else:
            out[y0:y1] = np.clip((a - lo) * gain + 0.5, 0, 255).astype(np.uint8)
    return out


def cutout_rgba(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """HWC uint8 RGBA; colour under fully transparent pixels is zeroed (smaller files)."""
    return _rgba(rgb, alpha_to_uint8(alpha))


def _rgba(rgb: np.ndarray, a8: np.ndarray, bgr: bool = False) -> np.ndarray:
    out = np.empty(rgb.shape[:2] + (4,), np.uint8)
    for y0, y1 in _strips(*a8.shape):  # strips: temporaries stay small on 48 MP images
        a = a8[y0:y1]
        colour = cv2.bitwise_and(rgb[y0:y1], rgb[y0:y1], mask=a)  # alpha 0: all zeros
        planes = list(cv2.split(colour))  # 4 planes merge ~2x faster than a 3 + 1 mix
        cv2.merge([*(planes[::-1] if bgr else planes), a], dst=out[y0:y1])
    return out


def composite(rgb: np.ndarray, alpha: np.ndarray, color: str | tuple[int, int, int]) -> np.ndarray:
    """rgb over a solid colour, HWC uint8; the same maths a viewer applies to the cutout."""
    c = parse_color(color) if isinstance(color, str) else tuple(color)
    return blend_over(rgb, alpha_to_uint8(alpha), c)


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


def _strips(h: int, w: int):
    step = max(1, _STRIP_PIXELS // max(w, 1))
    for y0 in range(0, h, step):
        yield y0, min(h, y0 + step)
