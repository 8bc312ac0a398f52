"""A second opinion where the first pass is unsure: the photo's mirror image, predicted and averaged.

A garment on white comes out of the network decided almost everywhere; a dancer among onlookers,
a car on a road or a rider in a street does not: a tenth or more of the frame sits between 0.1
and 0.9, and there averaging the prediction with its mirror image's (what `--tta` does for every
photo at twice the cost) moves the mask most (weights/MODEL_CARD.md, "The unsure mirror"). So
the mirror is predicted only for photos whose first pass leaves at least `share` of the frame
unsure; a catalog of product shots keeps one network call a photo.

The share is a calibration of one set of weights, measured on its selection split
(train/mirror.py) and stored with them (Preprocessing.mirror_unsure; 0 = never, as for every file
written before it).
"""

from __future__ import annotations

import numpy as np

from bgremove.inference.tta import PredictFn

UNSURE_BAND = (0.1, 0.9)  # the uncertain-mask review flag's band (batch/flags.py)
SAMPLE_PIXELS = 1 << 20  # the share is read on at most ~1 MP of a large mask: a strided sample


def unsure_share(alpha: np.ndarray) -> float:
    """The share of an HW probability mask strictly inside UNSURE_BAND."""
    step = max(1, int(np.sqrt(alpha.size / SAMPLE_PIXELS)))
    sample = alpha[::step, ::step]
    lo, hi = UNSURE_BAND
    return float(np.count_nonzero((sample > lo) & (sample < hi))) / sample.size


def mirror_unsure(predict: PredictFn, images: list[np.ndarray], alphas: list[np.ndarray],
                  share: float) -> list[int]:
    """Average each mask whose unsure_share is at least `share` (> 0) with the prediction on its
    image's mirror, in place, in one predict call; returns the indices it changed."""
    if share <= 0:
        return []
    todo = [i for i, a in enumerate(alphas) if unsure_share(a) >= share]
    if todo:
        mirrored = predict([np.ascontiguousarray(images[i][:, ::-1]) for i in todo])
        for i, m in zip(todo, mirrored, strict=True):
            alphas[i] += m[:, ::-1]
            alphas[i] *= 0.5
    return todo
