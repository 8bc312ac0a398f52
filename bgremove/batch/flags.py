"""Review flags: what a run says about each mask so a person checks the doubtful ones (the
report's `flags`, bgremove review)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the run's parent reads flags without numpy; its workers compute them
    import numpy as np

# Quality thresholds on the downsampled mask (fraction of pixels with alpha > 0.5).
EMPTY_BELOW = 0.001
FULL_ABOVE = 0.95
BORDER_ABOVE = 0.02  # fraction of the outer ring that is foreground
UNCERTAIN_SHARE = 0.02  # of the image with alpha in (0.1, 0.9) ...
UNCERTAIN_PER_OBJECT = 0.6  # ... and that much of the object's area (alpha > 0.5)
_QUALITY_SIDE = 256
DAMAGED = "damaged_input"  # the decoder reported damage it worked around (io.read_image)
# The flags that follow from the mask alone (kept with a cached mask); the others come from
# reading (DAMAGED) and rendering (canvas.UPSCALE_CAPPED), so they are worked out every time.
MASK_FLAGS = ("empty_mask", "full_frame", "touches_border", "uncertain_mask")


def mask_quality(alpha: np.ndarray, sharpen: float = 1.0) -> tuple[float, list[str]]:
    """Coverage and review flags from an HW float mask, on a strided view (~256 px long side)
    so the cost is negligible next to encoding.

    uncertain_mask: much of the mask is neither object nor background (alpha between 0.1 and
    0.9 on at least UNCERTAIN_SHARE of the image and at least UNCERTAIN_PER_OBJECT times the
    object's own area): what a crowd kept as a ghost or a fence smeared in looks like. On
    val/davis it caught 11 of the 16 lowest-IoU frames and flagged 2 of the 74 frames with
    IoU >= 0.8 (bench/bench_flags.py). `sharpen`: the weights' edge sharpening, already in
    `alpha` (inference/sharpen.py); the band is mapped through it, so the flag judges the
    network's own probabilities, as it was tuned on them."""
    step = max(1, max(alpha.shape[:2]) // _QUALITY_SIDE)
    view = alpha[::step, ::step]
    fg = view > 0.5
    coverage = float(fg.mean()) if fg.size else 0.0
    flags = []
    if coverage < EMPTY_BELOW:
        flags.append("empty_mask")
    elif coverage > FULL_ABOVE:
        flags.append("full_frame")
    else:
        edges = (fg[0], fg[-1], fg[:, 0], fg[:, -1])
        if sum(int(e.sum()) for e in edges) / sum(e.size for e in edges) > BORDER_ABOVE:
            flags.append("touches_border")
    lo, hi = _unsure_band(sharpen)
    unsure = float(((view > lo) & (view < hi)).mean()) if fg.size else 0.0
    if unsure >= UNCERTAIN_SHARE and unsure >= UNCERTAIN_PER_OBJECT * coverage:
        flags.append("uncertain_mask")
    return round(coverage, 5), flags


@functools.lru_cache(maxsize=8)
def _unsure_band(sharpen: float) -> tuple[float, float]:
    """(0.1, 0.9) through the weights' sharpening: once per factor, not once per image."""
    from bgremove.inference.sharpen import band  # numpy: only where masks are

    return band(0.1, 0.9, sharpen)
