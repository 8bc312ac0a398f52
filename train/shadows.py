"""Shadows and reflections of a pasted object, drawn on the background and labelled background.

Why: on davis the student keeps a car's shadow on the road, a scooter's, a swan's reflection in
the water (weights/MODEL_CARD.md, "Stage 27"), which U-2-Net and the ground truth leave out, and
a marketplace's white background wants the product without the floor's shadow. No training
source shows a ground shadow labelled as background: composites paste objects without one, and
the teacher pools hold few. So a composite can get its object's cast shadow (the silhouette
flipped at the object's base, squashed, sheared and blurred, darkening the ground) or its
reflection (the object flipped below its base, faint and dark), drawn before the object is
pasted over it, with the mask left as the object's.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Shadow:
    """kind: "cast" or "reflection". length: its height relative to the object's. shear: how
    far its far end leans sideways, in object widths. blur: Gaussian sigma, a fraction of the
    object's height. strength: how much a cast shadow darkens (0-1), or a reflection's opacity."""

    kind: str
    length: float
    shear: float
    blur: float
    strength: float


def draw_shadow(rng: np.random.Generator, reflection_share: float = 0.25) -> Shadow:
    """A random shadow: soft and hard ground shadows, short and long, leaning either way; a
    share of faint reflections."""
    if rng.random() < reflection_share:
        return Shadow("reflection", float(rng.uniform(0.4, 1.0)), 0.0,
                      float(rng.uniform(0.0, 0.01)), float(rng.uniform(0.15, 0.5)))
    return Shadow("cast", float(np.exp(rng.uniform(np.log(0.08), np.log(0.5)))),
                  float(rng.uniform(-0.8, 0.8)), float(np.exp(rng.uniform(np.log(0.004), np.log(0.05)))),
                  float(rng.uniform(0.25, 0.75)))


def add_shadow(canvas: np.ndarray, obj: np.ndarray, alpha: np.ndarray, y0: int, x0: int,
               shadow: Shadow) -> None:
    """Draw `shadow` of the object (HWC `obj` with HW `alpha`, placed with its top-left corner
    at (y0, x0)) into `canvas`, an HWC float32 image, in place. The shadow starts at the
    object's base (its bottom row) and falls below it; what leaves the canvas is cut off."""
    nh, nw = alpha.shape
    hs = max(1, int(round(nh * shadow.length)))
    lean = int(round(shadow.shear * nw))
    flipped_alpha = cv2.resize(np.ascontiguousarray(alpha[::-1]), (nw, hs), interpolation=cv2.INTER_AREA)
    sil = _leaned(flipped_alpha, lean)
    sigma = shadow.blur * nh
    if sigma > 0.3:
        sil = cv2.GaussianBlur(sil, (0, 0), sigmaX=sigma)
    if shadow.kind == "cast":
        # The darkest part is under the object, where the object is pasted over it afterwards.
        cut = _clipped(canvas.shape, y0 + nh - int(round(0.3 * hs)), x0 + min(0, lean), sil.shape)
        if cut is not None:
            dst, src = cut
            canvas[dst] *= 1.0 - shadow.strength * sil[src][..., None]
        return
    mirrored = cv2.resize(np.ascontiguousarray(obj[::-1]), (nw, hs), interpolation=cv2.INTER_AREA)
    mirrored = _leaned(mirrored, lean) * 0.7  # water darkens what it mirrors
    cut = _clipped(canvas.shape, y0 + nh, x0 + min(0, lean), sil.shape)
    if cut is not None:
        dst, src = cut
        a = shadow.strength * sil[src][..., None]
        canvas[dst] += a * (mirrored[src] - canvas[dst])


def _clipped(canvas_shape: tuple[int, ...], top: int, left: int, shape: tuple[int, ...]
             ) -> tuple[tuple[slice, slice], tuple[slice, slice]] | None:
    """(canvas slices, source slices) of a shape placed at (top, left), cut to the canvas;
    None where nothing of it is on the canvas."""
    h, w = shape[:2]
    y_a, x_a = max(0, top), max(0, left)
    y_b, x_b = min(canvas_shape[0], top + h), min(canvas_shape[1], left + w)
    if y_a >= y_b or x_a >= x_b:
        return None
    return ((slice(y_a, y_b), slice(x_a, x_b)),
            (slice(y_a - top, y_b - top), slice(x_a - left, x_b - left)))


def _leaned(x: np.ndarray, lean: int) -> np.ndarray:
    """x (HW or HWC) sheared so that its last row is shifted `lean` pixels sideways; the
    result is |lean| pixels wider."""
    h, w = x.shape[:2]
    if lean == 0:
        return x.astype(np.float32)
    shift = 0 if lean > 0 else -lean
    m = np.float32([[1, lean / max(1, h - 1), shift], [0, 1, 0]])
    return cv2.warpAffine(x.astype(np.float32), m, (w + abs(lean), h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
