"""CopyPaste composites: cut an object out with its mask and paste it onto another photo.

This is how garment shots taken on white (where "background" is trivially white) teach the model
to find the same garments in front of real scenes. When the background photo has a mask of its
own (another training pair), its object stays foreground wherever the pasted one leaves it visible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

from train.shadows import Shadow, add_shadow, draw_shadow

Pair = tuple[np.ndarray, np.ndarray]
# (image path, mask path or None for a plain background photo)
Item = tuple[Path, Path | None]


def object_crop(img: np.ndarray, mask: np.ndarray, margin: int = 2) -> Pair | None:
    """The image and mask cut to the mask's bounding box (plus `margin`); None if empty."""
    ys, xs = np.nonzero(mask > 0.5)
    if ys.size == 0:
        return None
    y0, y1 = max(0, ys.min() - margin), min(mask.shape[0], ys.max() + 1 + margin)
    x0, x1 = max(0, xs.min() - margin), min(mask.shape[1], xs.max() + 1 + margin)
    return img[y0:y1, x0:x1], mask[y0:y1, x0:x1]


def crop_aspect(img: np.ndarray, mask: np.ndarray, aspect: float, fx: float, fy: float) -> Pair:
    """The largest window of width/height `aspect`, its corner at fractions (fx, fy) of the
    free room: a landscape background becomes a portrait scene for a standing garment."""
    h, w = img.shape[:2]
    cw, ch = (w, int(round(w / aspect))) if w / h < aspect else (int(round(h * aspect)), h)
    cw, ch = max(1, min(cw, w)), max(1, min(ch, h))
    x0, y0 = int(round((w - cw) * fx)), int(round((h - ch) * fy))
    return img[y0:y0 + ch, x0:x0 + cw], mask[y0:y0 + ch, x0:x0 + cw]


def paste(
    background: np.ndarray,
    bg_mask: np.ndarray,
    obj: np.ndarray,
    obj_mask: np.ndarray,
    scale: float,
    position: tuple[float, float],
    feather: float = 0.0,
    label: bool = True,
    shadow: Shadow | None = None,
) -> Pair:
    """Paste `obj` (alpha = `obj_mask`) onto `background`.

    scale: the object's larger side relative to the background's matching side (1 = touching
    both edges along its tighter dimension). position: the object's top-left corner as fractions
    of the free room (0..1). feather: Gaussian sigma (px) softening the alpha edge, so the model
    cannot learn to spot cut-out jaggies instead of objects.
    label: False pastes a distractor: the mask keeps only what of the background's own mask
    the object leaves visible.
    shadow: the object's cast shadow or reflection, drawn on the background and never labelled
    (train/shadows.py).
    Returns the composite and its mask: pasted alpha over the background's own mask.
    """
    bh, bw = background.shape[:2]
    oh, ow = obj.shape[:2]
    f = scale * min(bh / oh, bw / ow)
    nh, nw = max(1, min(bh, int(round(oh * f)))), max(1, min(bw, int(round(ow * f))))
    obj = cv2.resize(obj, (nw, nh), interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
    alpha = cv2.resize(obj_mask, (nw, nh), interpolation=cv2.INTER_LINEAR)
    if feather > 0:
        alpha = cv2.GaussianBlur(alpha, (0, 0), sigmaX=feather)
    alpha = np.clip(alpha, 0.0, 1.0)
    y0, x0 = int(round((bh - nh) * position[1])), int(round((bw - nw) * position[0]))
    out = background.astype(np.float32)
    if shadow is not None:
        add_shadow(out, obj, alpha, y0, x0, shadow)
    region = out[y0:y0 + nh, x0:x0 + nw]
    a = alpha[..., None]
    out[y0:y0 + nh, x0:x0 + nw] = a * obj.astype(np.float32) + (1 - a) * region
    mask = bg_mask.astype(np.float32).copy()
    m_region = mask[y0:y0 + nh, x0:x0 + nw]
    mask[y0:y0 + nh, x0:x0 + nw] = (alpha if label else 0.0) + (1 - alpha) * m_region
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), np.clip(mask, 0.0, 1.0)


class CopyPaste:
    """Makes one composite per call from a donor pair and a random background.

    donors: (image, mask) paths of objects; backgrounds: (image, mask-or-None) paths.
    load_pair: reads an Item as (HWC uint8 RGB, HW float32 mask; zeros when the mask is None).
    distractors: (lo, hi) other donors pasted first, unlabelled, each at a fraction
    `distractor_scale` of the main object's scale: the subject among a crowd of smaller things
    of its own kind is the foreground, the crowd is not (davis's dancer in a ring of onlookers;
    weights/MODEL_CARD.md, "Stage 26").
    shadows: the share of composites whose object casts a shadow or a reflection
    (train/shadows.py: davis's kept shadows, "Stage 27").
    """

    def __init__(
        self,
        donors: Sequence[Item],
        backgrounds: Sequence[Item],
        load_pair: Callable[[Item], Pair],
        scale: tuple[float, float] = (0.35, 0.95),
        aspect: tuple[float, float] = (0.6, 1.5),
        feather: tuple[float, float] = (0.0, 1.2),
        distractors: tuple[int, int] = (0, 0),
        distractor_scale: tuple[float, float] = (0.3, 0.7),
        shadows: float = 0.0,
    ) -> None:
        if not donors or not backgrounds:
            raise ValueError("CopyPaste needs at least one donor and one background")
        self.donors, self.backgrounds, self.load_pair = list(donors), list(backgrounds), load_pair
        self.scale, self.aspect, self.feather = scale, aspect, feather
        self.distractors, self.distractor_scale = distractors, distractor_scale
        self.shadows = shadows

    def __len__(self) -> int:
        return len(self.donors)

    def __call__(self, index: int, rng: np.random.Generator) -> Pair:
        """Composite of donor `index` (the sampler picks it) on a background chosen by `rng`."""
        bg, bg_mask = self.load_pair(self.backgrounds[int(rng.integers(len(self.backgrounds)))])
        aspect = float(np.exp(rng.uniform(*np.log(self.aspect))))
        bg, bg_mask = crop_aspect(bg, bg_mask, aspect, rng.random(), rng.random())
        cut = object_crop(*self.load_pair(self.donors[index]))
        if cut is None:  # an empty donor mask: the plain background is still a valid sample
            return bg, bg_mask
        # Log-uniform: objects a tenth of the canvas are as common as objects twice that size.
        scale = float(np.exp(rng.uniform(*np.log(self.scale))))
        for _ in range(int(rng.integers(self.distractors[0], self.distractors[1] + 1))):
            other = object_crop(*self.load_pair(self.donors[int(rng.integers(len(self.donors)))]))
            if other is not None:
                bg, bg_mask = paste(bg, bg_mask, *other, scale * rng.uniform(*self.distractor_scale),
                                    (rng.random(), rng.random()), rng.uniform(*self.feather),
                                    label=False)
        # Drawn only when on, so that runs without shadows keep their random sequence.
        shadow = draw_shadow(rng) if self.shadows and rng.random() < self.shadows else None
        return paste(bg, bg_mask, cut[0], cut[1], scale=scale, position=(rng.random(), rng.random()),
                     feather=rng.uniform(*self.feather), shadow=shadow)
