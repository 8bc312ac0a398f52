"""Mask clean-up for catalogs: fill small unsure holes inside a confident object and drop faint
regions that are not connected to one.

A small model leaves two kinds of debris that a catalog notices and a soft edge does not excuse:
a crowd or a fence beside the product kept at half alpha (a "ghost"), and pale patches inside a
pale garment (see-through spots on a white T-shirt). Both are told apart from what must survive,
a semi-transparent product, by connection and size, not by alpha alone:

- a visible region (alpha > `visible`) with no confident pixel (alpha > `confident`) is dropped,
  but only when a confident object exists elsewhere: a photo whose only object is faint keeps it;
  a glass whose rim is confident keeps its faint body, which is connected to the rim;
- an enclosed hole in the object (alpha < 0.5, not touching the frame) is filled when it is
  small (< `max_hole` of the object's area) and unsure (mean alpha >= `unsure`): a real gap
  between a bag's handles shows background (alpha near 0) and stays open; a large transparent
  window is larger than a spot and stays as it is.

Pure numpy + OpenCV on the HW float32 mask, at whatever resolution it is given.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Cleanup:
    visible: float = 0.1
    confident: float = 0.9
    max_hole: float = 0.05
    unsure: float = 0.2

    def __call__(self, alpha: np.ndarray) -> np.ndarray:
        return fill_unsure_holes(drop_faint_regions(alpha, self), self)


def _components(mask: np.ndarray) -> tuple[int, np.ndarray]:
    return cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)


def drop_faint_regions(alpha: np.ndarray, cfg: Cleanup = Cleanup()) -> np.ndarray:
    n, labels = _components(alpha > cfg.visible)
    if n <= 2:  # nothing, or a single region: nothing to compare it with
        return alpha
    confident = np.bincount(labels[alpha > cfg.confident], minlength=n)
    confident[0] = 0
    if not confident.any():  # no confident object anywhere: keep what there is
        return alpha
    faint = confident == 0
    faint[0] = False
    if not faint.any():
        return alpha
    out = alpha.copy()
    out[faint[labels]] = 0.0
    return out


def fill_unsure_holes(alpha: np.ndarray, cfg: Cleanup = Cleanup()) -> np.ndarray:
    obj = alpha >= 0.5
    area = int(obj.sum())
    if area == 0:
        return alpha
    n, labels = _components(~obj)
    if n <= 2:  # the background alone: no hole
        return alpha
    sizes = np.bincount(labels.ravel(), minlength=n)
    sums = np.bincount(labels.ravel(), weights=alpha.ravel(), minlength=n)
    touching = np.zeros(n, bool)
    for edge in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        touching[edge] = True
    fill = (~touching) & (sizes < cfg.max_hole * area) & (sums >= cfg.unsure * sizes)
    fill[0] = False  # label 0 is the object itself (~obj is False there)
    if not fill.any():
        return alpha
    out = alpha.copy()
    out[fill[labels]] = 1.0
    return out
