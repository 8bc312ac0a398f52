"""UNet3+-style decoder (Huang et al. 2020): every decoder stage sees every encoder level.

Each stage at stride s gathers one narrow branch per scale: finer encoder maps max-pooled down,
the encoder map at s, and coarser decoder maps projected then upsampled. The branches are
concatenated and fused by a residual SE block. Projections happen at the source's own resolution
(1x1 before upsampling), which is where most of the saving over the paper's 3x3 branches comes from.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bgremove.model.blocks import SPPF, ConvBNAct, ResidualSEBlock


def _upsample(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)


class FullScaleStage(nn.Module):
    """One decoder stage at encoder level `level` (0 = stride 2 ... 4 = stride 32)."""

    def __init__(
        self,
        level: int,
        enc_channels: tuple[int, ...],
        deeper_channels: tuple[int, ...],
        cat_ch: int,
        out_ch: int,
    ) -> None:
        super().__init__()
        self.level = level
        # ceil_mode keeps pooled sizes equal to the encoder's ceil(n / 2^k) for odd input sizes.
        self.pools = nn.ModuleList(
            nn.MaxPool2d(2 ** (level - j), 2 ** (level - j), ceil_mode=True) for j in range(level)
        )
        self.enc_proj = nn.ModuleList(ConvBNAct(c, cat_ch, 1) for c in enc_channels[: level + 1])
        self.dec_proj = nn.ModuleList(ConvBNAct(c, cat_ch, 1) for c in deeper_channels)
        branches = level + 1 + len(deeper_channels)
        self.fuse = ResidualSEBlock(branches * cat_ch, out_ch)

    def forward(self, enc: list[torch.Tensor], deeper: list[torch.Tensor]) -> torch.Tensor:
        target = enc[self.level]
        parts = [self.enc_proj[j](self.pools[j](enc[j])) for j in range(self.level)]
        parts.append(self.enc_proj[self.level](target))
        parts += [_upsample(proj(d), target) for proj, d in zip(self.dec_proj, deeper, strict=True)]
        return self.fuse(torch.cat(parts, 1))


class SlimStage(nn.Module):
    """The stride-2 stage, slim: the stride-4 decoder output (projected, then upsampled) plus the
    encoder's stride-2 skip, fused by one depthwise-separable conv.

    The full-scale stage at stride 2 (five 16-channel branches at half the input resolution, four
    of them upsampled) cost ~40% of a training step with its backward for what is edge detail;
    this one measured 1.7x faster per step (shared/design/training-review.md).
    """

    def __init__(self, skip_ch: int, deeper_ch: int, out_ch: int) -> None:
        super().__init__()
        self.skip = ConvBNAct(skip_ch, out_ch, 1)
        self.deeper = ConvBNAct(deeper_ch, out_ch, 1)
        self.fuse = nn.Sequential(
            ConvBNAct(out_ch, out_ch, 3, groups=out_ch, act=None), ConvBNAct(out_ch, out_ch, 1)
        )

    def forward(self, enc: list[torch.Tensor], deeper: list[torch.Tensor]) -> torch.Tensor:
        skip = enc[0]
        return self.fuse(self.skip(skip) + _upsample(self.deeper(deeper[0]), skip))


class UNet3PlusDecoder(nn.Module):
    """Decodes the five encoder features to maps at strides 2, 4, 8 and 16 (finest first).

    decoder_channels: widths of the stages at strides 16, 8, 4, 2.
    stride2: "full" (a full-scale stage, as at the coarser levels) or "slim" (SlimStage).
    """

    def __init__(
        self,
        enc_channels: tuple[int, ...],
        decoder_channels: tuple[int, int, int, int] = (96, 64, 48, 32),
        cat_channels: int = 16,
        sppf_channels: int = 128,
        stride2: str = "full",
    ) -> None:
        super().__init__()
        if stride2 not in ("full", "slim"):
            raise ValueError(f"stride2 must be 'full' or 'slim', not {stride2!r}")
        self.sppf = SPPF(enc_channels[4], sppf_channels)
        self.stages = nn.ModuleList()
        deeper: list[int] = [sppf_channels]
        for level, out_ch in zip((3, 2, 1, 0), decoder_channels, strict=True):
            if level == 0 and stride2 == "slim":
                self.stages.append(SlimStage(enc_channels[0], deeper[0], out_ch))
            else:
                self.stages.append(
                    FullScaleStage(level, enc_channels, tuple(deeper), cat_channels, out_ch))
            deeper.insert(0, out_ch)
        self.out_channels = decoder_channels[-1]

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        deeper = [self.sppf(feats[4])]
        for stage in self.stages:
            deeper.insert(0, stage(feats, deeper))
        return deeper[:4]
