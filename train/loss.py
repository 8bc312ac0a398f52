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


def confidence_weights(mask: np.ndarray) -> np.ndarray:
    """|2p - 1| of a soft teacher label: full weight where the teacher was sure, none where it
    said 0.5. Replaces rejecting whole photos the teacher was unsure about."""
    return np.abs(2.0 * mask - 1.0).astype(np.float32)


def soft_dice(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
              eps: float = 1.0) -> torch.Tensor:
    """1 - Dice of the sigmoid probability, per image then averaged; eps keeps an empty target
    with an empty prediction at loss 0. `weight` (0 on padding) masks pixels out."""
    p, t = torch.sigmoid(logits).flatten(1), target.flatten(1)
    if weight is not None:
        w = weight.flatten(1)
        p, t = p * w, t * w
    inter = (p * t).sum(1)
    return (1 - (2 * inter + eps) / (p.sum(1) + t.sum(1) + eps)).mean()


def soft_iou(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
             eps: float = 1.0) -> torch.Tensor:
    """1 - soft IoU (as BASNet's IoU loss), per image then averaged, pixels weighted."""
    p, t = torch.sigmoid(logits).flatten(1), target.flatten(1)
    w = weight.flatten(1) if weight is not None else torch.ones_like(p)
    inter = (w * p * t).sum(1)
    union = (w * (p + t - p * t)).sum(1)
    return (1 - (inter + eps) / (union + eps)).mean()


def mirror_consistency(logits: torch.Tensor, mirrored: torch.Tensor,
                       valid: torch.Tensor | None = None) -> torch.Tensor:
    """BCE of `logits` against the mean of their own probabilities and those of `mirrored` (the
    prediction on the mirror image, mapped back), both held fixed: where the two disagree the
    mask is pulled to their average, which `--mirror` computes with a second network call.
    (N, 1, H, W) each; valid is 1 on the image, 0 on padding (default: all 1)."""
    logits = logits.float()
    target = 0.5 * (torch.sigmoid(logits.detach()) + torch.sigmoid(mirrored.detach().float()))
    per_pixel = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    if valid is None:
        return per_pixel.mean()
    return (per_pixel * valid).sum() / valid.sum().clamp_min(1.0)


class SegLoss(torch.nn.Module):
    """bce_weight * weighted BCE + dice_weight * (1 - Dice) + iou_weight * (1 - soft IoU), on the
    main logits and, with deep supervision, aux_weight x the mean over the auxiliary logits.
    `amplitude` and `sigma` are the boundary-weight parameters the weight maps are built with
    (see boundary_weights)."""

    def __init__(self, bce_weight: float = 1.0, dice_weight: float = 1.0,
                 amplitude: float = 4.0, sigma: float = 3.0, iou_weight: float = 0.0,
                 aux_weight: float = 0.4) -> None:
        super().__init__()
        self.bce_weight, self.dice_weight, self.iou_weight = bce_weight, dice_weight, iou_weight
        self.amplitude, self.sigma, self.aux_weight = amplitude, sigma, aux_weight

    def single(self, logits, target, weight, valid) -> tuple[torch.Tensor, dict[str, float]]:
        logits = logits.float()  # the loss in fp32 even under autocast
        bce = weighted_bce(logits, target, weight)
        loss, parts = self.bce_weight * bce, {"bce": float(bce.detach())}
        if self.dice_weight:
            dice = soft_dice(logits, target, valid)
            loss = loss + self.dice_weight * dice
            parts["dice"] = float(dice.detach())
        if self.iou_weight:
            iou = soft_iou(logits, target, valid)
            loss = loss + self.iou_weight * iou
            parts["iou_loss"] = float(iou.detach())
        return loss, parts

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
        aux: list[torch.Tensor] | tuple = (), valid: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """logits, target, weight, valid: (N, 1, H, W); valid is 1 on the image, 0 on padding
        (default: all 1). Returns the loss and its parts as floats."""
        if weight is None:
            weight = torch.ones_like(target)
        loss, parts = self.single(logits, target, weight, valid)
        if aux:
            extra = sum(self.single(a, target, weight, valid)[0] for a in aux) / len(aux)
            loss = loss + self.aux_weight * extra
            parts["aux"] = float(extra.detach())
        return loss, parts
