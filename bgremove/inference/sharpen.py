"""Edge sharpening of a full-resolution mask: each probability's logit scaled by `s`.

    q = sigmoid(s * logit(p)) = p**s / (p**s + (1 - p)**s)

Why: a mask predicted at 320 px and upsampled 5-12x has edges as soft as the network's own
uncertainty times the zoom (a 1600x1200 catalog photo: ~20% of its pixels between 2% and 98%
with the stage 5 weights), while the photos' true edges are a pixel or two wide. On the
selection split (training pools, never the val sets) s = 2 brought the stage 5 weights' mean MAE
from 0.0903 to 0.0853 (ccp 0.0202 -> 0.0162, viton-cloth 0.0406 -> 0.0297) and their soft pixels
from 20% to 8% of the image, which decontamination and PNG encoding pay for
(weights/MODEL_CARD.md, "Edge sharpening"; `python -m train.calibrate`). It is a calibration of
one set of weights, so it is stored with them (Preprocessing.sharpen; 1.0, no change, for files
without it).

The map is monotone and keeps 0, 0.5 and 1, so thresholds at 0.5 (IoU, coverage, `--threshold
0.5`) see the same mask; `band` maps a probability interval to the sharpened one, for checks
tuned on the network's own probabilities (flags.mask_quality's uncertain band).
"""

from __future__ import annotations

import cv2
import numpy as np

_STRIP_PIXELS = 1 << 16  # per step: the temporaries stay in cache


def sharpen(p: np.ndarray, s: float, out: np.ndarray | None = None) -> np.ndarray:
    """HW float32 probabilities -> sharpened, into `out` (p itself works: the Remover sharpens
    its own fresh mask in place, sparing a 48 MB allocation and its page faults on 12 MP) or a
    new array; p itself for s == 1. s == 2 is exact in three array operations (2.1 ms for
    1600x1200, 10 ms for 4000x3000); other multiples of 0.5 up to 4 (2.5 ships with stage 17)
    in a few products and one square root (numpy's float power took ~30 ms at 1600x1200, a
    third of the photo's CPU); any other s takes powers."""
    if s == 1.0:
        return p
    if s <= 0:
        raise ValueError(f"sharpen factor must be > 0, got {s}")
    if p.ndim != 2 or p.dtype != np.float32:
        raise ValueError(f"sharpen takes an HW float32 mask, got {p.dtype} {p.shape}")
    out = np.empty_like(p) if out is None else out
    rows = max(1, _STRIP_PIXELS // max(1, p.shape[1]))
    # OpenCV reads a tiny array as a scalar: numpy for masks of 4 pixels or fewer.
    cv = p.size > 4 and out.flags.c_contiguous
    halves = float(2 * s).is_integer() and s <= 4.0
    scratch = np.empty((2, min(rows, p.shape[0]), p.shape[1]), np.float32) if halves else None
    for y0 in range(0, p.shape[0], rows):
        if cv and s == 2.0:
            _square(p[y0 : y0 + rows], out[y0 : y0 + rows])
        elif halves:
            n = min(rows, p.shape[0] - y0)
            _halves(p[y0 : y0 + n], s, out[y0 : y0 + n], scratch[:, :n])
        else:
            out[y0 : y0 + rows] = _power(np.clip(p[y0 : y0 + rows], 0.0, 1.0), s)
    return out


def _square(p: np.ndarray, out: np.ndarray) -> None:
    """p**2 / (p**2 + (1 - p)**2) in three passes, the denominator as 2 p**2 - 2 p + 1 (>= 0.5:
    never a division by zero, and in [0, 1] for any real p, so no clipping is needed)."""
    num = cv2.multiply(p, p)
    den = cv2.addWeighted(num, 2.0, p, -2.0, 1.0)
    cv2.divide(num, den, dst=out)


def _halves(p: np.ndarray, s: float, out: np.ndarray, scratch: np.ndarray) -> None:
    """p**s / (p**s + (1 - p)**s) for s a multiple of 0.5: integer powers by products, the half
    by a square root (exact to float32 rounding), all in place in `out` and two scratch strips
    (new temporaries per operation took 7.0 ms at 1600x1200 against 5.6). p is clipped to
    [0, 1] first, so the denominator is >= 2**(1 - s) > 0. `out` may be `p` itself."""
    x, y = scratch
    np.clip(p, 0.0, 1.0, out=x)
    np.subtract(np.float32(1.0), x, out=y)
    _power_halves(x, s, out)  # p**s; x is not needed after it
    _power_halves(y, s, x)  # (1 - p)**s
    x += out
    np.divide(out, x, out=out)


def _power_halves(x: np.ndarray, s: float, dst: np.ndarray) -> None:
    """dst = x**s for s a multiple of 0.5, by products (and one square root)."""
    whole = int(s)
    if s != whole:
        np.sqrt(x, out=dst)
    else:
        np.copyto(dst, x)
        whole -= 1
    for _ in range(whole):
        dst *= x


def _power(p: np.ndarray, s: float) -> np.ndarray:
    num = np.power(p, np.float32(s))
    return num / (num + np.power(np.float32(1.0) - p, np.float32(s)))


def band(lo: float, hi: float, s: float) -> tuple[float, float]:
    """The interval (lo, hi) of probabilities after sharpening by s."""
    q = _power(np.array([lo, hi], np.float32), s) if s != 1.0 else (lo, hi)
    return float(q[0]), float(q[1])
