"""Shrinking a photo to the model's sizes through exact 2x2 area halvings, shared between sizes.

OpenCV's INTER_AREA is fast at integer ratios and ~10x slower otherwise (4000x3000 -> 320x240:
67 ms direct, ~15 ms via 2000x1500 and 1000x750). So a large reduction starts with halvings,
and stops them while the rest is >= 2x, so the final area step still dominates the smoothing
(mean difference from a direct area resize ~0.3 of 255 on photos). A stretch to a square
input (ratios differ) also halves while the larger ratio is >= 4 and the smaller >= 3.5: a
1600x1200 photo to 320 x 320 (3.75 and 5) took 7.8 ms direct and 4.0 via 800x600, mean
difference 0.25. Halving further, to a last step of 1.75-2x on both sides, would save more
(2000x1500 -> 554x416: 27.6 ms, from 1000x750 7.4) but cost the refinement's tiles a little
sharpness: measured and not taken (tests/inference/test_tiling.py's refinement beat the global
pass alone by less than before, and lost to it on the 1200x1600 scene).

A large photo is shrunk twice, for the global pass and for the refinement's tiles (tiling.py):
a `Pyramid` keeps the halvings it made, so the second shrink starts from them.
"""

from __future__ import annotations

import cv2
import numpy as np

from bgremove.inference.preprocess import resize_image


class Pyramid:
    """An HWC uint8 image and the halvings of it made so far (each kept for the next shrink)."""

    def __init__(self, image: np.ndarray) -> None:
        self.levels = [image]

    @property
    def image(self) -> np.ndarray:
        return self.levels[0]

    def start_for(self, h: int, w: int) -> np.ndarray:
        """The smallest halving that still leaves the area resize to h x w its share of the
        reduction (each halving made on first use)."""
        k = 0
        while True:
            img = self.levels[k]
            if not _halve(img.shape[0] / h, img.shape[1] / w) or (img.shape[0] | img.shape[1]) & 1:
                return img
            if k + 1 == len(self.levels):
                self.levels.append(cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2),
                                              interpolation=cv2.INTER_AREA))
            k += 1


def shrink(src: np.ndarray | Pyramid, h: int, w: int, resample: str = "area") -> np.ndarray:
    """resize_image to h x w, through `src`'s halvings when it is a Pyramid (kept there for the
    next call) or through new ones for a plain image; other resamplers resize directly."""
    pyramid = src if isinstance(src, Pyramid) else Pyramid(src)
    if resample != "area":
        return resize_image(pyramid.image, h, w, resample)
    return resize_image(pyramid.start_for(h, w), h, w)


def _halve(ry: float, rx: float) -> bool:
    return min(ry, rx) >= 4 or (max(ry, rx) >= 4 and min(ry, rx) >= 3.5)
