"""Tiny real models for tests: a BgNet with TINY_ARGS saved as .pth and exported to .onnx."""

from __future__ import annotations

from pathlib import Path

from bgremove.inference.preprocess import Preprocessing

TINY_PRE = Preprocessing(input_size=64, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))


def make_tiny_checkpoint(path: Path, seed: int = 0) -> Path:
    import torch

    from bgremove.model import TINY_ARGS, build_model
    from bgremove.model.checkpoint import save_checkpoint

    torch.manual_seed(seed)
    model = build_model(TINY_ARGS)
    # Non-trivial BN statistics, so eval-mode outputs vary with the input like a trained model's.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
    save_checkpoint(path, model, TINY_ARGS, TINY_PRE)
    return path


def make_tiny_onnx(folder: Path) -> tuple[Path, Path]:
    from bgremove.modeltools.export import export_onnx

    pth = make_tiny_checkpoint(folder / "tiny.pth")
    onnx_path = folder / "tiny.onnx"
    export_onnx(pth, onnx_path)
    return pth, onnx_path
