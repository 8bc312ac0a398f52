"""What a run writes to disk: the resume file (everything needed to continue exactly where it
stopped) and the small best.pth that ships (weights + model_args + preprocessing only)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bgremove.inference.preprocess import Preprocessing
from bgremove.model.checkpoint import atomic_torch_save, save_checkpoint

RESUME = "resume.pt"
BEST = "best.pth"


def rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
             "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_resume(out: Path, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                scheduler: Any, scaler: Any, progress: dict, history: list[dict],
                cfg: dict, ema: dict | None = None) -> None:
    atomic_torch_save({
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict(),
        "progress": dict(progress),
        "history": list(history),
        "rng": rng_state(),
        "config": dict(cfg),
        "ema": ema,
    }, out / RESUME)


def load_resume(out: Path) -> dict[str, Any] | None:
    path = out / RESUME
    if not path.is_file():
        return None
    return torch.load(path, map_location="cpu", weights_only=False)


def save_best(out: Path, model: torch.nn.Module, cfg: dict, pre: Preprocessing,
              info: dict[str, Any]) -> Path:
    """best.pth: weights, model_args, preprocessing and a little provenance (no optimiser)."""
    extra = {"epoch": info.get("epoch"), "step": info.get("step"), "metrics": info.get("metrics"),
             "config": {k: v for k, v in cfg.items() if _plain(v)}}
    path = out / BEST
    save_checkpoint(path, model, cfg["model_args"], pre, extra=extra)
    return path


def _plain(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | list | dict | type(None))
