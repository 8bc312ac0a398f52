"""Backends behind one interface; the weights file's suffix picks which one loads it."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from bgremove.errors import WeightsError
from bgremove.inference.backends.base import Backend

__all__ = ["Backend", "load_backend", "default_weights", "resolve_weights", "cuda_usable",
           "import_onnxruntime"]

DEFAULT_WEIGHTS_NAME = "bgremove-lite0.onnx"  # fp32
# The same weights quantised (modeltools/quantize.py): the default where images go through the
# network one at a time on a CPU (`bgremove run`'s workers, predict.py, the Python API). Masks
# within 0.005 IoU of fp32's on every val set, on AVX2, AVX-512 and VNNI CPUs alike (the model
# card), and a run ~10% faster end to end on a VNNI CPU (README). Not on a GPU, and not where
# different images share a batch (`bgremove serve`): onnxruntime's int8 kernels answer an image
# differently in a batch of 2 than alone (logits apart by up to 0.13), and a mask must not
# depend on its neighbours. fp32 is used where a weights folder lacks the int8 file.
DEFAULT_INT8_WEIGHTS_NAME = "bgremove-lite0.int8.onnx"
WEIGHTS_ENV = "BGREMOVE_WEIGHTS"


def _weights_dirs() -> list[Path]:
    # A source checkout (editable install) keeps them in <repo>/weights; a wheel installs them as
    # data files under <prefix>/share/bgremove/weights.
    return [
        Path(__file__).resolve().parents[3] / "weights",
        Path(sys.prefix) / "share" / "bgremove" / "weights",
    ]


def default_weights(int8: bool = True) -> Path:
    """The bundled weights: $BGREMOVE_WEIGHTS if set, else from the first weights dir that has
    them the int8 file (int8, fp32 where it is missing) or the fp32 file."""
    env = os.environ.get(WEIGHTS_ENV)
    if env:
        return Path(env)
    names = (DEFAULT_INT8_WEIGHTS_NAME, DEFAULT_WEIGHTS_NAME) if int8 else (DEFAULT_WEIGHTS_NAME,)
    for name in names:
        for folder in _weights_dirs():
            if (folder / name).is_file():
                return folder / name
    searched = ", ".join(str(d) for d in _weights_dirs())
    raise WeightsError(
        f"no bundled weights ({DEFAULT_WEIGHTS_NAME}) found in {searched}; pass --weights"
    )


def resolve_weights(weights: str | Path | None, int8: bool = True) -> Path:
    """`weights` checked, or the default weights (`default_weights(int8)`)."""
    path = default_weights(int8) if weights is None else Path(weights).expanduser()
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
    batched: bool = False,
) -> Backend:
    """Load `weights` (.onnx with onnxruntime, .pth/.pt with torch; None = the bundled weights:
    int8 on a CPU, fp32 on a GPU or, `batched`, where different images will share a batch)."""
    on_gpu = device == "cuda" or (device == "auto" and weights is None and cuda_usable())
    path = resolve_weights(weights, int8=not (on_gpu or batched))
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        from bgremove.inference.backends.onnx import OnnxBackend

        return OnnxBackend(path, device=device, threads=threads, preset=preset)
    if suffix in (".pth", ".pt"):
        from bgremove.inference.backends.torch import TorchBackend

        return TorchBackend(path, device=device, threads=threads)
    raise WeightsError(f"{path}: unknown weights format {suffix!r}; expected .onnx or .pth")


def cuda_usable() -> bool:
    """Whether onnxruntime can run on a GPU here. The device files first: on a machine without a
    GPU onnxruntime is not imported (~0.25 s of CPU; onnxruntime-gpu lists its CUDA provider
    even where there is no GPU)."""
    if not (os.path.exists("/dev/nvidiactl") or os.path.exists("/proc/driver/nvidia")):
        return False
    try:
        onnxruntime = import_onnxruntime()
    except ImportError:
        return False
    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


def import_onnxruntime() -> Any:
    """onnxruntime, with its usage telemetry off. Its Linux wheels (1.32 here) record every
    session in an SQLite file under ~/.cache/Microsoft/DeveloperTools, each worker of a run
    writing to it, for upload to Microsoft's event collector: nothing a catalog's cron job on a
    server should do to its user's home. The library reads ORT_DISABLE_TELEMETRY when it
    loads, so it is set here, before the import; a value the user set is kept."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime

    return onnxruntime
