"""BCE + Dice with per-pixel boundary weights.

Most pixels of a product photo are easy (deep inside the object or far out in the background);
the errors users see are at the outline. Weighting BCE by closeness to the mask's boundary spends
the gradient there; Dice keeps small objects from being swamped by the background.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F


def boundary_distance(mask: np.ndarray) -> np.ndarray:
    """Distance (px) from each pixel to the nearest pixel on the other side of the boundary.

    Computed on both sides with cv2.distanceTransform, so the first pixel inside and the first
    pixel outside are both at distance 1: the map is symmetric about the contour.
    """
    fg = (mask >= 0.5).astype(np.uint8)
    d_in = cv2.distanceTransform(fg, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    d_out = cv2.distanceTransform(1 - fg, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return np.where(fg > 0, d_in, d_out)


def boundary_weights(mask: np.ndarray, amplitude: float = 4.0, sigma: float = 3.0) -> np.ndarray:
    """w = 1 + amplitude * exp(-(d - 1) / sigma): 1 + amplitude on the pixels either side of the
    boundary, decaying to 1 far from it (and 1 everywhere in a mask with no boundary)."""
    if amplitude <= 0:
        return np.ones(mask.shape, np.float32)
    d = boundary_distance(mask)
    # distanceTransform reports a huge distance where the other side does not exist at all.
    return (1.0 + amplitude * np.exp(-(np.maximum(d, 1.0) - 1.0) / sigma)).astype(np.float32)


def weighted_bce(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """BCE-with-logits averaged with per-pixel weights (normalised by the weights' sum)."""
    per_pixel = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return (per_pixel * weight).sum() / weight.sum().clamp_min(1e-6)


def soft_dice(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """1 - Dice of the sigmoid probability, per image then averaged; eps keeps an empty target
    with an empty prediction at loss 0."""
    p = torch.sigmoid(logits).flatten(1)
    t = target.flatten(1)
    inter = (p * t).sum(1)
    return (1 - (2 * inter + eps) / (p.sum(1) + t.sum(1) + eps)).mean()


class SegLoss(torch.nn.Module):
    """bce_weight * boundary-weighted BCE + dice_weight * (1 - Dice). `amplitude` and `sigma`
    are the boundary-weight parameters the weight maps are built with (see boundary_weights)."""

    def __init__(self, bce_weight: float = 1.0, dice_weight: float = 1.0,
                 amplitude: float = 4.0, sigma: float = 3.0) -> None:
        super().__init__()
        self.bce_weight, self.dice_weight = bce_weight, dice_weight
        self.amplitude, self.sigma = amplitude, sigma

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """logits, target, weight: (N, 1, H, W). Returns the loss and its parts as floats."""
        logits = logits.float()  # the loss in fp32 even under autocast
        if weight is None:
            weight = torch.ones_like(target)
        bce = weighted_bce(logits, target, weight)
        dice = soft_dice(logits, target)
        loss = self.bce_weight * bce + self.dice_weight * dice
        return loss, {"bce": float(bce.detach()), "dice": float(dice.detach())}
