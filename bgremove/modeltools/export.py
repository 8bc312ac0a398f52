"""`.pth` -> `.onnx` export, with the preprocessing in the ONNX metadata and an agreement check."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bgremove.errors import BgRemoveError, MissingExtraError

# fp32 kernels of torch and onnxruntime differ in summation order; 1e-4 on logits is far below what
# changes a mask, and far above what that order explains.
AGREEMENT_ATOL = 1e-4


@dataclass(frozen=True)
class ExportReport:
    path: Path
    max_abs_diff: float
    shapes_checked: tuple[tuple[int, int, int, int], ...]


def export_onnx(
    checkpoint: str | Path,
    output: str | Path,
    opset: int = 17,
    atol: float = AGREEMENT_ATOL,
) -> ExportReport:
    """Write `output` from `checkpoint` and check it against torch; raise if they disagree."""
    try:
        import torch
    except ImportError as exc:
        raise MissingExtraError("torch", "torch", "bgremove export") from exc
    from bgremove.inference.backends.onnx import METADATA_KEY
    from bgremove.inference.preprocess import Preprocessing
    from bgremove.model.checkpoint import load_checkpoint

    model, ckpt = load_checkpoint(checkpoint)
    pre = Preprocessing.from_dict(ckpt.get("preprocessing") or {})
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    size = pre.input_size
    dyn = {0: "batch", 2: "height", 3: "width"}
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated but exports this plain CNN in a second, where the
        # dynamo exporter takes ~25 s for the same graph; the agreement check below guards both.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model, (torch.zeros(1, 3, size, size),), str(tmp),
            input_names=["input"], output_names=["logits"],
            dynamic_axes={"input": dyn, "logits": dyn}, opset_version=opset, dynamo=False,
        )
    _write_metadata(tmp, {
        METADATA_KEY: pre.to_json(),
        "bgremove.model_args": json.dumps(ckpt["model_args"]),
    })
    # A second, non-square shape and batch: proves the dynamic axes work, not just the traced one.
    half = max(pre.multiple, size // 2 // pre.multiple * pre.multiple)
    shapes = ((1, 3, size, size), (2, 3, size + pre.multiple, half))
    diff = max(_max_diff(model, tmp, shape) for shape in shapes)
    if not diff < atol:
        tmp.unlink()
        raise BgRemoveError(f"ONNX export disagrees with torch: max |diff| {diff:.2e} >= {atol}")
    tmp.replace(output)
    return ExportReport(output, diff, shapes)


def _write_metadata(path: Path, props: dict[str, str]) -> None:
    import onnx

    model = onnx.load(str(path))
    del model.metadata_props[:]
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    model.doc_string = "bgremove background-removal model; preprocessing in metadata"
    onnx.save(model, str(path))


def _max_diff(model, onnx_path: Path, shape: tuple[int, ...]) -> float:
    import torch

    from bgremove.inference.backends import import_onnxruntime

    ort = import_onnxruntime()

    # A real-looking input range: normalised pixels lie in about [-2.5, 2.5].
    x = np.random.default_rng(0).uniform(-2.0, 2.0, shape).astype(np.float32)
    with torch.inference_mode():
        ref = model(torch.from_numpy(x)).numpy()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    out = session.run(None, {"input": x})[0]
    return float(np.abs(ref - out).max())
