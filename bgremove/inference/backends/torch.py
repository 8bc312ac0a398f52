"""PyTorch backend for `.pth` checkpoints: for fine-tuning users and for GPU runs without
onnxruntime-gpu. Imported only when a `.pth` is asked for."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bgremove.errors import ConfigError, MissingExtraError
from bgremove.inference.preprocess import Preprocessing


class TorchBackend:
    name = "torch"

    def __init__(self, path: str | Path, device: str = "auto", threads: int | None = None) -> None:
        try:
            import torch
        except ImportError as exc:
            raise MissingExtraError("torch", "torch", f"The .pth weights {path}") from exc
        from bgremove.model.checkpoint import load_checkpoint

        self.torch = torch
        self.device = _device(torch, device)
        if threads:
            torch.set_num_threads(threads)
        model, ckpt = load_checkpoint(path)
        self.model = model.to(self.device, memory_format=torch.channels_last)
        self.preprocessing = Preprocessing.from_dict(ckpt.get("preprocessing") or {})

    def predict(self, batch: np.ndarray) -> np.ndarray:
        torch = self.torch
        x = torch.from_numpy(np.ascontiguousarray(batch, np.float32)).to(self.device)
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            return self.model(x).float().cpu().numpy()


def _device(torch, device: str) -> str:
    if device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"unknown device {device!r}; use auto, cpu or cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for, but torch sees no CUDA device here")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device
