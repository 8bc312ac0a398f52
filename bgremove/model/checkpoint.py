"""`.pth` checkpoints that carry everything needed to rebuild and run the network."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from bgremove.errors import WeightsError
from bgremove.model.net import BgNet, build_model

FORMAT = "bgremove-checkpoint-v1"

def save_checkpoint(
    path: str | Path,
    model: BgNet,
    model_args: dict[str, Any],
    preprocessing: Any,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write atomically: a checkpoint killed mid-write must not replace the previous one.

    preprocessing: the inference Preprocessing the network was trained with (anything with
    `to_json()`, or its dict); stored as a plain dict, so this room needs no inference code.
    """
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    payload = {
        "format": FORMAT,
        "state_dict": state,
        "model_args": {k: list(v) if isinstance(v, tuple) else v for k, v in model_args.items()},
        "preprocessing": preprocessing if isinstance(preprocessing, dict)
        else json.loads(preprocessing.to_json()),
        "extra": extra or {},
    }
    atomic_torch_save(payload, Path(path))


def atomic_torch_save(obj: Any, path: Path) -> None:
    """Write to a temporary file in the same folder, then rename: a kill mid-write leaves the
    previous file intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_checkpoint(path: str | Path, map_location: str = "cpu") -> dict[str, Any]:
    """Load and validate a checkpoint dict; raises WeightsError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    if path.stat().st_size == 0:
        raise WeightsError(f"weights file is empty: {path}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as exc:  # torch raises many kinds for a damaged zip/pickle
        raise WeightsError(f"cannot read weights file {path}: {exc}") from exc
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt or "model_args" not in ckpt:
        raise WeightsError(f"{path} is not a bgremove checkpoint (no state_dict/model_args)")
    return ckpt


def load_checkpoint(path: str | Path, map_location: str = "cpu") -> tuple[BgNet, dict[str, Any]]:
    """Rebuild the network from a checkpoint; returns (model in eval mode, checkpoint dict)."""
    ckpt = read_checkpoint(path, map_location)
    model = build_model(ckpt["model_args"])
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as exc:
        raise WeightsError(f"{path}: weights do not fit the stored model_args: {exc}") from exc
    return model.eval(), ckpt

