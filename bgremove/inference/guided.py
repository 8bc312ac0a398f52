"""Edge alignment of the network's mask to its own input: a guided filter (He et al. 2010)
whose guide is the image the network saw.

Why: the network's mask is a little blurred and shifted at edges (its finest decoder stage sees
stride 2), and is enlarged 2.5-12x afterwards, so an edge can sit a pixel or two of the mask
off the photo's colour edge. The guided filter models the mask, in each (2r+1)^2 window, as a
linear function of the colours, q = A . rgb + b, fitted by least squares: it moves a soft edge
onto the colour edge beside it and leaves flat regions (A ~ 0, b ~ p) as they were. Applied at
the network's resolution, before enlargement, it costs a few milliseconds per model call
whatever the photo's size: filtering at the photo's full resolution scored the same on the
selection split and cost 13-33 ms more per 1600x1200 photo (weights/MODEL_CARD.md, "Guided
edges").

The radius is a calibration of one set of weights (how soft their edges are), measured on the
selection split (`python -m train.guide`) and stored with them (Preprocessing.guide, in the
network's pixels; 0 = off, as for files without it).
"""

from __future__ import annotations

import cv2
import numpy as np

EPS = 1e-3  # colour variance (0-1 scale) of a flat window; 1e-4 to 1e-2: split IoU within 0.0003
_STRIP = 64  # rows per step of the per-pixel algebra: its temporaries stay in cache


def guided_filter(image: np.ndarray, p: np.ndarray, radius: int, eps: float = EPS) -> np.ndarray:
    """HWC uint8 RGB and an HW float32 mask of the same size -> the filtered mask in [0, 1]
    (radius 0: p itself). The guide is the image in colour: a grey guide scored 0.0005 lower
    mean IoU on the split, where colour edges have no luminance edge. Only the box around the
    mask's unsure pixels is computed: beyond it every window is flat (A = 0) and the mask is
    kept as it was."""
    if radius <= 0:
        return p
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[:2] != p.shape:
        raise ValueError(f"guide {image.shape} does not match mask {p.shape}")
    box = _unsure_box(p, 2 * radius + 1)  # the two box filters' reach, and one pixel more
    if box is None:
        return p
    rows, cols = box
    guide = [image[rows, cols, c].astype(np.float32) * np.float32(1.0 / 255.0) for c in range(3)]
    a0, a1, a2, b = coefficients(guide, np.ascontiguousarray(p[rows, cols], np.float32),
                                 int(radius), eps)
    out = np.array(p, np.float32)
    np.clip(a0 * guide[0] + a1 * guide[1] + a2 * guide[2] + b, 0.0, 1.0, out=out[rows, cols])
    return out


def _unsure_box(p: np.ndarray, margin: int) -> tuple[slice, slice] | None:
    """Rows and columns around the mask's pixels strictly between 0.01 and 0.99, widened by
    `margin`; None where there are none (nothing for the filter to move)."""
    unsure = (p > 0.01) & (p < 0.99)
    rows, cols = np.flatnonzero(unsure.any(1)), np.flatnonzero(unsure.any(0))
    if rows.size == 0:
        return None
    h, w = p.shape
    return (slice(max(0, rows[0] - margin), min(h, rows[-1] + margin + 1)),
            slice(max(0, cols[0] - margin), min(w, cols[-1] + margin + 1)))


def _box(x: np.ndarray, r: int) -> np.ndarray:
    return cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT)


def coefficients(guide: list[np.ndarray], p: np.ndarray, r: int, eps: float
                 ) -> list[np.ndarray]:
    """[A_r, A_g, A_b, b], HW float32 planes, each averaged over the windows covering a pixel:
    the ridge least-squares fit of p as A . guide + b in every window (He et al., eqs. 14-16
    for a colour guide); guide is three contiguous HW float32 planes in [0, 1].

    One box filter per plane (OpenCV on 13 interleaved channels took 10x the time, and numpy
    on interleaved channels 3-4x), the per-pixel algebra in strips of rows."""
    g0, g1, g2 = guide
    products = [g0, g1, g2, p, g0 * p, g1 * p, g2 * p,
                g0 * g0, g0 * g1, g0 * g2, g1 * g1, g1 * g2, g2 * g2]
    means = [_box(x, r) for x in products]
    solved = [np.empty_like(p) for _ in range(4)]
    for y in range(0, p.shape[0], _STRIP):
        rows = slice(y, y + _STRIP)
        _solve([m[rows] for m in means], eps, [s[rows] for s in solved])
    return [_box(x, r) for x in solved]


def _solve(means: list[np.ndarray], eps: float, out: list[np.ndarray]) -> None:
    """One strip of rows: the 13 box means (guide, p, guide x p, guide x guide) -> per pixel
    (A_r, A_g, A_b, b) into out."""
    m0, m1, m2, mp, c0, c1, c2, s00, s01, s02, s11, s12, s22 = means
    v0, v1, v2 = c0 - m0 * mp, c1 - m1 * mp, c2 - m2 * mp  # covariances with p
    a11, a12, a13 = s00 - m0 * m0 + eps, s01 - m0 * m1, s02 - m0 * m2
    a22, a23, a33 = s11 - m1 * m1 + eps, s12 - m1 * m2, s22 - m2 * m2 + eps
    # Each window's 3x3 symmetric system, solved by its adjugate (the ridge keeps det > 0).
    k11, k12, k13 = a22 * a33 - a23 * a23, a13 * a23 - a12 * a33, a12 * a23 - a13 * a22
    k22, k23, k33 = a11 * a33 - a13 * a13, a12 * a13 - a11 * a23, a11 * a22 - a12 * a12
    inv_det = 1.0 / (a11 * k11 + a12 * k12 + a13 * k13)
    np.multiply(k11 * v0 + k12 * v1 + k13 * v2, inv_det, out=out[0])
    np.multiply(k12 * v0 + k22 * v1 + k23 * v2, inv_det, out=out[1])
    np.multiply(k13 * v0 + k23 * v1 + k33 * v2, inv_det, out=out[2])
    np.subtract(mp, out[0] * m0 + out[1] * m1 + out[2] * m2, out=out[3])
