"""A second look at a small object: predict again on a crop around what the first pass found.

The network sees every photo at 320 px. An object that fills a catalog shot gets most of those
pixels; a bird on a lawn or a dancer in a square gets a few thousand, and its mask comes out as
a blob that misses legs, wings and handles (val/davis: the median object covers 5% of the frame).
So when the first pass's object, with a margin, fits in a crop of at most `max_area` of the
photo, the crop is predicted on its own and its mask replaces the first one inside the crop.

The crop keeps the photo's own aspect ratio (its short side grows, and it is shifted back inside
the frame rather than clipped), so the network sees the zoomed view with the same stretch as a
whole photo. Crops shaped by the object alone (a wide cauldron, a tall snake) were stretched
far beyond anything in training and came back with holes: on the selection split, IoU on
imagenet-1k fell 0.007 with them and did not move with aspect-kept crops (weights/MODEL_CARD.md,
"Zoom"). Outside the crop the first pass stays: it is below 0.5 there by construction.

Weights whose files say `zoom_mirror` predict the crop and its mirror image in one batch and
average the two (mirror_mean): a second opinion where a small object's legs, wings and handles
are decided by a few pixels. On 166 small objects from the training pools it gained 0.0074 IoU
over the crop alone, and it costs small objects one more network call (weights/MODEL_CARD.md,
"The small-object split").
"""

from __future__ import annotations

import numpy as np

from bgremove.inference.tta import PredictFn, transforms, tta_predict

# Margin around the object's box on each side, as a share of the box's side: room for the
# edges the first pass cut off. 0.15 and 0.25 were measured on the selection split (0.15 kept
# the split's mean IoU and zoomed more photos); train/zoom.py measures max_area with it.
MARGIN = 0.15
MIN_MARGIN_PX = 16  # a tiny object still gets some context around it
# The blend between the passes at the crop's inner borders, as a share of its short side: the
# margin is at least 0.15 / 1.3 of the crop's side, so a ramp of 0.05 stays clear of the object.
FEATHER = 0.05

Box = tuple[int, int, int, int]  # y0, y1, x0, x1


def zoom_box(alpha: np.ndarray, max_area: float, margin: float = MARGIN) -> Box | None:
    """The crop to predict again for this HW mask, or None: no object (nothing >= 0.5), or the
    crop would cover more than `max_area` of the frame (the zoom would gain too few pixels)."""
    if max_area <= 0:
        return None
    sure = alpha >= 0.5
    rows, cols = np.flatnonzero(sure.any(axis=1)), np.flatnonzero(sure.any(axis=0))
    if rows.size == 0:
        return None
    h, w = alpha.shape
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    my = max(int((y1 - y0) * margin), MIN_MARGIN_PX)
    mx = max(int((x1 - x0) * margin), MIN_MARGIN_PX)
    y0, y1, x0, x1 = y0 - my, y1 + my, x0 - mx, x1 + mx
    if (y1 - y0) * w > (x1 - x0) * h:  # taller than the photo's aspect: widen
        x0, x1 = _grow(x0, x1, round((y1 - y0) * w / h))
    else:
        y0, y1 = _grow(y0, y1, round((x1 - x0) * h / w))
    y0, y1 = _inside(y0, y1, h)
    x0, x1 = _inside(x0, x1, w)
    if (y1 - y0) * (x1 - x0) > max_area * h * w:
        return None
    return y0, y1, x0, x1


def _grow(a: int, b: int, size: int) -> tuple[int, int]:
    a -= (size - (b - a)) // 2
    return a, a + size


def _inside(a: int, b: int, n: int) -> tuple[int, int]:
    """Shift [a, b) into [0, n) (keeping its length), clipping only what is longer than n."""
    shift = max(0, -a) - max(0, b - n)
    return max(0, a + shift), min(n, b + shift)


def crop(image: np.ndarray, box: Box) -> np.ndarray:
    y0, y1, x0, x1 = box
    return np.ascontiguousarray(image[y0:y1, x0:x1])


def paste(alpha: np.ndarray, crop_alpha: np.ndarray, box: Box) -> np.ndarray:
    """`alpha` with the crop's mask in place of its own inside `box` (in place; returned).

    Both passes are below 0.5 at the crop's border, but not equal: a faint shadow or a
    neighbour's edge can stand at 0.4 in one and 0.0 in the other (up to 0.44 apart on the
    selection split), which would leave a straight line in a soft cutout. So where the crop's
    border lies inside the photo, the two are blended over FEATHER of the crop's short side
    (inside the margin, away from the object); a border on the photo's own edge is not blended.
    """
    y0, y1, x0, x1 = box
    h, w = alpha.shape
    ramp = max(1, round(FEATHER * min(y1 - y0, x1 - x0)))
    wy = _ramp(y1 - y0, ramp, y0 > 0, y1 < h)
    wx = _ramp(x1 - x0, ramp, x0 > 0, x1 < w)
    weight = np.minimum(wy[:, None], wx[None, :])
    region = alpha[y0:y1, x0:x1]
    region += weight * (crop_alpha - region)
    return alpha


def _ramp(n: int, width: int, start: bool, end: bool) -> np.ndarray:
    """n weights: rising from near 0 to 1 over `width` at each flagged end, 1 elsewhere."""
    d = np.arange(n, dtype=np.float32)
    weight = np.ones(n, np.float32)
    if start:
        weight = np.minimum(weight, (d + 0.5) / width)
    if end:
        weight = np.minimum(weight, (n - d - 0.5) / width)
    return weight


MIRROR = transforms((1.0,), flip=True)  # the crop as it is and mirrored: --tta's flip alone


def mirror_mean(predict: PredictFn, images: list[np.ndarray]) -> list[np.ndarray]:
    """Each image's HW mask averaged with its mirror image's (mapped back), in one predict call."""
    return tta_predict(predict, images, MIRROR)
