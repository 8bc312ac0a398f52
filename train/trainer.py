"""The training loop: steps, per-epoch validation, best checkpoint, early stopping, resume."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
from pathlib import Path

import torch

from bgremove.errors import ConfigError
from bgremove.inference.preprocess import DEFAULT_PREPROCESSING
from bgremove.model import build_model
from bgremove.model.checkpoint import load_checkpoint
from train import history as hist
from train.augment import build_augmenter
from train.data import StreamDataset, make_loader
from train.ema import EMA
from train.loss import SegLoss
from train.sampler import StreamSampler
from train.sets import build_sources, build_val_sets, read_selection, write_selection
from train.state import BEST, load_resume, save_best, save_resume, set_rng_state
from train.validate import Validator


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda asked for, but torch sees no CUDA device")
    return torch.device(name)


def amp_dtype(name: str, device: torch.device) -> torch.dtype | None:
    """Autocast dtype, or None for fp32. CPU autocast is off by default: on most CPUs bf16
    convolutions are slower than fp32 ones."""
    if name == "off" or (name == "auto" and device.type != "cuda"):
        return None
    if name == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[name]


def lr_factor(step: int, warmup: int, total: int, floor: float) -> float:
    """Linear warm-up to 1, then cosine down to `floor`."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def param_groups(model: torch.nn.Module, cfg: dict) -> list[dict]:
    """Encoder vs the rest (different lr), and no weight decay on BatchNorm weights and biases."""
    groups: dict[tuple[bool, bool], list] = {}
    encoder_ids = {id(p) for p in model.encoder.parameters()}
    for p in model.parameters():
        groups.setdefault((id(p) in encoder_ids, p.ndim > 1), []).append(p)
    return [{"params": ps, "lr": cfg["lr"] * (cfg["encoder_lr_mult"] if enc else 1.0),
             "weight_decay": cfg["weight_decay"] if decay else 0.0}
            for (enc, decay), ps in groups.items()]


class Trainer:
    def __init__(self, cfg: dict, resume: bool = False) -> None:
        self.cfg, self.out = cfg, Path(cfg["out"])
        self.out.mkdir(parents=True, exist_ok=True)
        self.device = pick_device(cfg["device"])
        self.dtype = amp_dtype(cfg["amp"], self.device)
        if self.device.type == "cpu":
            torch.set_num_threads(cfg["threads"] or max(1, (os.cpu_count() or 1) - 1))
        torch.manual_seed(cfg["seed"])
        self.pre = dataclasses.replace(DEFAULT_PREPROCESSING, input_size=cfg["input_size"],
                                       square=cfg["square_input"],
                                       pad_square=not cfg["square_input"])
        self._build_data(resume)
        self._build_model()
        self.progress = {"epoch": 0, "step": 0, "best": -math.inf, "best_epoch": 0,
                         "bad_epochs": 0, "epoch_sums": {}}
        self.history: list[dict] = []
        if resume:
            self._resume()
        (self.out / "config.json").write_text(json.dumps(cfg, indent=2, default=str))

    # ------------------------------------------------------------ setup
    def _build_data(self, resume: bool) -> None:
        cfg = self.cfg
        selection_file = self.out / "selection.json"
        if resume and selection_file.is_file():
            fixed = read_selection(selection_file, cfg["data_root"])
        elif cfg.get("selection_from"):
            fixed = read_selection(cfg["selection_from"], cfg["data_root"])
        else:
            fixed = {}
        self.sources, held = build_sources(cfg, fixed)
        if fixed:
            write_selection(selection_file, fixed, cfg["data_root"])
        self.crop_size = 0
        self.dataset = self._dataset(self.size_at(0))
        per_epoch = max(1, len(self.dataset) // cfg["batch_size"])
        self.steps_per_epoch = cfg["steps_per_epoch"] or per_epoch
        self.total_steps = self.steps_per_epoch * cfg["epochs"]
        self.validator = Validator(build_val_sets(cfg, held), self.pre, cfg["val_limit"])
        names = [name for name, _ in self.validator.sets]
        if self.validator and cfg["best_set"] not in ("mean", "select", *names):
            raise ConfigError(f"best_set {cfg['best_set']!r} is not a val set: {names}")
        sizes = ", ".join(f"{s.name} {len(s.items)} x{s.weight:g}" for s in self.sources)
        print(f"train sources: {sizes}; {self.steps_per_epoch} steps/epoch; "
              f"val: {', '.join(f'{n} {len(v)}' for n, v in self.validator.sets)}", flush=True)

    def size_at(self, epoch: int) -> int:
        """Crop size of an epoch: early_input_size for the first early_frac of the epochs."""
        cfg = self.cfg
        early = cfg["early_input_size"] and epoch < round(cfg["early_frac"] * cfg["epochs"])
        return cfg["early_input_size"] if early else cfg["input_size"]

    def _dataset(self, size: int) -> StreamDataset:
        cfg = self.cfg
        self.crop_size = size
        augment = build_augmenter(size, cfg["augment_strength"], tuple(cfg["zoom"]),
                                  with_valid=cfg["mask_padding"], square=cfg["square_input"],
                                  zoom_crop=cfg["zoom_crop"])
        return StreamDataset(self.sources, augment, cfg["seed"], cfg["boundary_amplitude"],
                             cfg["boundary_sigma"], cfg["teacher_confidence"])

    def _build_model(self) -> None:
        cfg = self.cfg
        init = cfg["init"]
        self.model = build_model(cfg["model_args"], cfg["pretrained_encoder"] and not init)
        if init:
            init_from(self.model, init, cfg["model_args"])
        fmt = torch.channels_last if cfg["channels_last"] else torch.contiguous_format
        self.model.to(self.device, memory_format=fmt)
        self.memory_format = fmt
        self.optimizer = torch.optim.AdamW(param_groups(self.model, cfg), lr=cfg["lr"])
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda s: lr_factor(
            s, cfg["warmup_steps"], self.total_steps, cfg["min_lr_frac"]))
        self.scaler = torch.amp.GradScaler(self.device.type,
                                           enabled=self.dtype == torch.float16)
        self.loss_fn = SegLoss(cfg["bce_weight"], cfg["dice_weight"], cfg["boundary_amplitude"],
                               cfg["boundary_sigma"], cfg["iou_weight"], cfg["aux_weight"])
        self.ema = EMA(self.model, cfg["ema_decay"]) if cfg["ema_decay"] > 0 else None

    def _resume(self) -> None:
        state = load_resume(self.out)
        if state is None:
            print(f"no {self.out / 'resume.pt'}: starting from scratch", flush=True)
            return
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        if self.ema is not None and state.get("ema"):
            self.ema.load_state_dict(state["ema"])
        self.progress, self.history = state["progress"], state["history"]
        set_rng_state(state["rng"])
        print(f"resumed at epoch {self.progress['epoch'] + 1}, step {self.progress['step']}",
              flush=True)

    # ------------------------------------------------------------ loop
    def run(self) -> None:
        from train.loop import train_epochs

        finished = train_epochs(self)
        if finished and self.cfg["export_onnx"] and (self.out / BEST).is_file():
            export_best(self.out / BEST)

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    @property
    def shipped_model(self) -> torch.nn.Module:
        """What is validated and saved as best.pth: the EMA weights when there are any."""
        return self.ema.model if self.ema is not None else self.model

    def loader(self):
        cfg = self.cfg
        size = self.size_at(self.progress["epoch"])
        if size != self.crop_size:
            self.dataset = self._dataset(size)
        start = self.progress["step"] * cfg["batch_size"]
        sampler = StreamSampler([len(s.items) for s in self.sources],
                                [s.weight for s in self.sources], cfg["seed"], start)
        return make_loader(self.dataset, sampler, cfg["batch_size"], cfg["workers"], cfg["seed"],
                           self.progress["epoch"], pin_memory=self.device.type == "cuda")

    def save(self) -> None:
        save_resume(self.out, model=self.model, optimizer=self.optimizer,
                    scheduler=self.scheduler, scaler=self.scaler, progress=self.progress,
                    history=self.history, cfg=self.cfg,
                    ema=self.ema.state_dict() if self.ema is not None else None)

    def save_best(self, info: dict) -> None:
        save_best(self.out, self.shipped_model, self.cfg, self.pre, info)

    def write_history(self) -> None:
        hist.write_csv(self.history, self.out / "history.csv")
        try:
            hist.plot(self.history, self.out / "history.png")
        except ImportError:  # matplotlib is in the [train] extra; the CSV is what matters
            pass


def init_from(model: torch.nn.Module, path: str, model_args: dict) -> None:
    """Start from a checkpoint's weights. Where the architectures differ (a slim stride-2 stage,
    deep-supervision heads), every tensor whose name and shape match is taken and the rest keep
    their fresh initialisation; what was left out is printed."""
    src, ckpt = load_checkpoint(path)
    own, theirs = model.state_dict(), src.state_dict()
    taken = {k: v for k, v in theirs.items() if k in own and own[k].shape == v.shape}
    if not taken:
        raise ConfigError(f"init {path} (model_args {ckpt['model_args']}) shares no weights with "
                          f"model_args {model_args}")
    model.load_state_dict(taken, strict=False)
    fresh = sorted({k.rsplit(".", 2)[0] for k in own if k not in taken})
    if fresh:
        print(f"init {path}: {len(taken)}/{len(own)} tensors taken; fresh: {', '.join(fresh)}",
              flush=True)


def export_best(best: Path) -> None:
    try:
        from bgremove.modeltools.export import export_onnx
    except ImportError:
        print("bgremove.modeltools.export not available: skipping the ONNX export", flush=True)
        return
    onnx_path = best.with_suffix(".onnx")
    report = export_onnx(best, onnx_path)
    diff = getattr(report, "max_abs_diff", float("nan"))
    print(f"exported {onnx_path} (max |onnx - torch| = {diff:.1e})", flush=True)
