"""Backends behind one interface; the weights file's suffix picks which one loads it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bgremove.errors import WeightsError
from bgremove.inference.backends.base import Backend

__all__ = ["Backend", "load_backend", "default_weights", "resolve_weights"]

DEFAULT_WEIGHTS_NAME = "bgremove-lite0.onnx"
WEIGHTS_ENV = "BGREMOVE_WEIGHTS"


def _weights_dirs() -> list[Path]:
    # A source checkout (editable install) keeps them in <repo>/weights; a wheel installs them as
    # data files under <prefix>/share/bgremove/weights.
    return [
        Path(__file__).resolve().parents[3] / "weights",
        Path(sys.prefix) / "share" / "bgremove" / "weights",
    ]


def default_weights() -> Path:
    """The bundled weights: $BGREMOVE_WEIGHTS if set, else the first weights dir that has them."""
    env = os.environ.get(WEIGHTS_ENV)
    if env:
        return Path(env)
    for folder in _weights_dirs():
        if (folder / DEFAULT_WEIGHTS_NAME).is_file():
            return folder / DEFAULT_WEIGHTS_NAME
    searched = ", ".join(str(d) for d in _weights_dirs())
    raise WeightsError(
        f"no bundled weights ({DEFAULT_WEIGHTS_NAME}) found in {searched}; pass --weights"
    )


def resolve_weights(weights: str | Path | None) -> Path:
    path = default_weights() if weights is None else Path(weights).expanduser()
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    if path.stat().st_size == 0:
        raise WeightsError(f"weights file is empty: {path}")
    return path


def load_backend(
    weights: str | Path | None = None,
    device: str = "auto",
    threads: int | None = None,
    preset: str | None = None,
) -> Backend:
    """Load `weights` (.onnx with onnxruntime, .pth/.pt with torch; None = bundled weights)."""
    path = resolve_weights(weights)
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        from bgremove.inference.backends.onnx import OnnxBackend

        return OnnxBackend(path, device=device, threads=threads, preset=preset)
    if suffix in (".pth", ".pt"):
        from bgremove.inference.backends.torch import TorchBackend

        return TorchBackend(path, device=device, threads=threads)
    raise WeightsError(f"{path}: unknown weights format {suffix!r}; expected .onnx or .pth")
