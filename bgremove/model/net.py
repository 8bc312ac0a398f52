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
    # Checkpoints written before these existed were built with these values.
    "stride2": "full",
    "deep_supervision": False,
}

# Builds in milliseconds, no pretrained weights: for tests and smoke runs.
TINY_ARGS: dict[str, Any] = {
    "encoder": "tiny",
    "decoder_channels": (24, 16, 16, 8),
    "cat_channels": 8,
    "sppf_channels": 32,
}


class BgNet(nn.Module):
    """deep_supervision adds 1x1 heads on the stride-4, 8 and 16 decoder maps for training
    (`forward_aux`); `forward` never runs them, so exported files do not contain them."""

    def __init__(
        self,
        encoder: str = "lite0",
        decoder_channels: tuple[int, int, int, int] = (96, 64, 48, 32),
        cat_channels: int = 16,
        sppf_channels: int = 128,
        stride2: str = "full",
        deep_supervision: bool = False,
    ) -> None:
        super().__init__()
        self.encoder = EfficientNetLite(encoder)
        self.decoder = UNet3PlusDecoder(
            self.encoder.channels, tuple(decoder_channels), cat_channels, sppf_channels, stride2
        )
        self.head = nn.Conv2d(self.decoder.out_channels, 1, 3, padding=1)
        coarse = tuple(decoder_channels)[2::-1]  # stride 4, 8, 16
        self.aux_heads = nn.ModuleList(nn.Conv2d(c, 1, 1) for c in coarse) if deep_supervision \
            else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) normalised RGB -> (N, 1, H, W) foreground logits."""
        return _full_size(self.head(self.decoder(self.encoder(x))[0]), x)

    def forward_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(logits, [auxiliary logits from strides 4, 8, 16]), all at the input's size."""
        maps = self.decoder(self.encoder(x))
        main = _full_size(self.head(maps[0]), x)
        if self.aux_heads is None:
            return main, []
        return main, [_full_size(h(m), x) for h, m in zip(self.aux_heads, maps[1:], strict=True)]


def _full_size(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
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
