"""A second opinion for photos of busy scenes: the photo's mirror image, predicted and averaged.

A garment on a white backdrop comes out of the network decided; a dancer among onlookers, a car
on a road or a rider in a street is where it hesitates between the subject and what surrounds
it, and there averaging the prediction with its mirror image's (what `--tta` does for every photo,
at twice the network's cost) moves the mask most. The network's own doubt did not tell the two
apart: every mask is soft across its edge, and the photos the mirror helped were not the ones
with the most doubt (weights/MODEL_CARD.md, "The mirror for busy scenes"). The backdrop does: a
studio shot's background is flat, a scene's is textured. So a photo's global pass (the whole
photo at the network's size: inference/tiling.py) is averaged with its mirror view's only where
the background around the object it draws is at least `level` busy (`backdrop_busyness`), and
before any refinement: the second opinion is one network call at the input size whatever the
photo's size, and a large photo's tiles then refine the averaged mask once. A catalog of studio
shots keeps one network call a photo.

It is asked for (`bgremove run --mirror`, `Remover(mirror_busy=None)`), not on by default: a
folder of scenes pays that call for nearly every photo, 1.15-1.19x the time of a run without it
(bench/bench_mirror.py; 1.55x when the mirror was taken at full size, tiles and all), which the
throughput bar on bench/bench_run.py's folder of street photos and video frames (15x rembg, met
only as a median) does not leave room for. The level is a calibration of one set of weights,
measured on its selection split (train/mirror.py) and stored with them
(Preprocessing.mirror_busy; 0 = none, as for every file written before it: `--mirror` then
mirrors nothing).
"""

from __future__ import annotations

import cv2
import numpy as np

from bgremove.inference.tta import PredictFn

READ_SIDE = 320  # busyness is read at the network's own scale: the same figure at any photo size
BACKGROUND = 0.1  # first-pass probability below which a pixel is backdrop


def backdrop_busyness(image: np.ndarray, alpha: np.ndarray) -> float:
    """Mean gradient magnitude (grey levels a pixel, at READ_SIDE) over the pixels of HWC uint8
    `image` that HW `alpha` calls background; 0 when there are none (the object fills the frame)."""
    h, w = alpha.shape
    scale = min(1.0, READ_SIDE / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if scale < 1.0:  # shrunk first: the grey conversion then costs ~1/25 of a catalog photo's
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gradient = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)) / 8.0
    backdrop = alpha < BACKGROUND
    return float(gradient[backdrop].mean()) if backdrop.any() else 0.0


def mirror_busy(predict: PredictFn, images: list[np.ndarray], alphas: list[np.ndarray],
                level: float) -> list[int]:
    """Average each mask whose photo's backdrop_busyness is at least `level` (> 0) with the
    prediction on the photo's mirror image, in place, in one predict call; returns the indices
    it changed."""
    if level <= 0:
        return []
    todo = [i for i, (im, a) in enumerate(zip(images, alphas, strict=True))
            if backdrop_busyness(im, a) >= level]
    if todo:
        mirrored = predict([np.ascontiguousarray(images[i][:, ::-1]) for i in todo])
        for i, m in zip(todo, mirrored, strict=True):
            alphas[i] += m[:, ::-1]
            alphas[i] *= 0.5
    return todo
