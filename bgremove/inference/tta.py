"""Test-time augmentation: predict on flipped and rescaled copies, merge in probability space.

A transform maps an HWC image to what the model sees and maps the predicted HW mask back, so
`undo(apply(x), x.shape[:2])` is x (exactly for flips, up to resampling for scales).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from bgremove.inference.preprocess import resize_image, resize_mask

# 1.25 rather than a down-scale: the extra view adds detail the base pass lacks, at ~1.6x its cost.
DEFAULT_SCALES = (1.0, 1.25)

PredictFn = Callable[[list[np.ndarray]], list[np.ndarray]]


@dataclass(frozen=True)
class Transform:
    flip: bool = False
    scale: float = 1.0

    def apply(self, img: np.ndarray) -> np.ndarray:
        if self.scale != 1.0:
            h, w = img.shape[:2]
            img = resize_image(img, max(1, round(h * self.scale)), max(1, round(w * self.scale)))
        return np.ascontiguousarray(img[:, ::-1]) if self.flip else img

    def undo(self, mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """Map a mask predicted on apply(x) back onto x's (h, w) grid."""
        if self.flip:
            mask = np.ascontiguousarray(mask[:, ::-1])
        if mask.shape[:2] != tuple(size):
            shrinking = mask.shape[0] * mask.shape[1] > size[0] * size[1]
            if shrinking:  # area averaging: every predicted pixel counts, no aliasing
                mask = cv2.resize(mask, (size[1], size[0]), interpolation=cv2.INTER_AREA)
            else:
                mask = resize_mask(mask, *size)
        return mask


def transforms(scales: Sequence[float] = DEFAULT_SCALES, flip: bool = True) -> list[Transform]:
    """Every scale with and without a horizontal flip; identity first."""
    flips = (False, True) if flip else (False,)
    return [Transform(flip=f, scale=float(s)) for s in scales for f in flips]


def tta_predict(
    predict: PredictFn, images: list[np.ndarray], tforms: Sequence[Transform]
) -> list[np.ndarray]:
    """Mean probability over `tforms` for each image; `predict` maps images to HW masks.

    All transformed copies go to `predict` in one call so a backend can batch them.
    """
    if not tforms:
        return predict(images)
    views = [t.apply(img) for t in tforms for img in images]
    preds = predict(views)
    n = len(images)
    out = []
    for i, img in enumerate(images):
        size = img.shape[:2]
        acc = np.zeros(size, np.float32)
        for k, t in enumerate(tforms):
            acc += t.undo(preds[k * n + i], size)
        out.append(acc * (1.0 / len(tforms)))
    return out
