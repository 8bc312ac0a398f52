"""BgNet: EfficientNet-Lite encoder + SPPF + UNet3+ decoder; forward returns logits only."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from bgremove.model.decoder import UNet3PlusDecoder
from bgremove.model.encoder import EfficientNetLite

DEFAULT_ARGS: dict[str, Any] = {
    "encoder": "lite0",
    "decoder_channels": (96, 64, 48, 32),
    "cat_channels": 16,
    "sppf_channels": 128,
}

# Builds in milliseconds, no pretrained weights: for tests and smoke runs.
TINY_ARGS: dict[str, Any] = {
    "encoder": "tiny",
    "decoder_channels": (24, 16, 16, 8),
    "cat_channels": 8,
    "sppf_channels": 32,
}


class BgNet(nn.Module):
    def __init__(
        self,
        encoder: str = "lite0",
        decoder_channels: tuple[int, int, int, int] = (96, 64, 48, 32),
        cat_channels: int = 16,
        sppf_channels: int = 128,
    ) -> None:
        super().__init__()
        self.encoder = EfficientNetLite(encoder)
        self.decoder = UNet3PlusDecoder(
            self.encoder.channels, tuple(decoder_channels), cat_channels, sppf_channels
        )
        self.head = nn.Conv2d(self.decoder.out_channels, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) normalised RGB -> (N, 1, H, W) foreground logits."""
        y = self.head(self.decoder(self.encoder(x)))
        return F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)


def build_model(model_args: dict[str, Any] | None = None, pretrained_encoder: bool = False) -> BgNet:
    """Build BgNet from `model_args` (the dict stored in checkpoints), defaults filled in."""
    args = {**DEFAULT_ARGS, **(model_args or {})}
    unknown = set(args) - set(DEFAULT_ARGS)
    if unknown:
        raise ValueError(f"unknown model arguments: {sorted(unknown)}")
    model = BgNet(**args)
    if pretrained_encoder:
        model.encoder.load_imagenet()
    return model
