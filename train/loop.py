"""Steps and epochs. Everything a resume needs lives in trainer.progress (saved in resume.pt):
the global step fixes the data position, the epoch the schedule, the partial epoch sums the
history row of an epoch interrupted half-way."""

from __future__ import annotations

import math
import time

import torch

from bgremove.modeltools.metrics import HIGHER_IS_BETTER
from train.loss import mirror_consistency


def set_train_mode(model: torch.nn.Module, frozen_encoder: bool, frozen_to_stride8: bool = False
                   ) -> None:
    """Train mode, except a frozen encoder (or its part up to stride 8: the stem and the blocks
    up to the stride-8 feature, generic edges and textures) also keeps its BatchNorm statistics
    fixed. Freezing that part saved ~1.6x per step on CPU (no backward through the widest maps)."""
    model.train()
    model.encoder.requires_grad_(not frozen_encoder)
    if frozen_encoder:
        model.encoder.eval()
    elif frozen_to_stride8:
        for module in early_encoder(model.encoder):
            module.requires_grad_(False)
            module.eval()


def early_encoder(encoder: torch.nn.Module) -> list[torch.nn.Module]:
    """The encoder's modules up to and including its stride-8 feature."""
    last = encoder.taps[2]
    return [encoder._conv_stem, encoder._bn0, *encoder._blocks[: last + 1]]


def normalise(images: torch.Tensor, pre) -> torch.Tensor:
    """(N, 3, H, W) uint8 on the device -> float normalised with the checkpoint's mean/std."""
    mean = torch.tensor(pre.mean, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(pre.std, device=images.device).view(1, 3, 1, 1)
    return (images.float().div_(255.0) - mean) / std


def batch_iou(logits: torch.Tensor, target: torch.Tensor) -> float:
    p, t = logits > 0, target > 0.5
    inter = (p & t).flatten(1).sum(1).float()
    union = (p | t).flatten(1).sum(1).float()
    return float(torch.where(union > 0, inter / union.clamp_min(1), torch.ones_like(union)).mean())


def train_step(t, batch: dict) -> dict[str, float] | None:
    """One optimiser step; None when the loss was not finite (the step is skipped)."""
    dev = t.device
    x = normalise(batch["image"].to(dev, non_blocking=True), t.pre)
    x = x.contiguous(memory_format=t.memory_format)
    y, w = batch["mask"].to(dev, non_blocking=True), batch["weight"].to(dev, non_blocking=True)
    valid = batch["valid"].to(dev, non_blocking=True) if "valid" in batch else None
    with t.autocast():
        logits, aux = t.model.forward_aux(x)
    loss, parts = t.loss_fn(logits, y, w, aux, valid)
    if t.cfg.get("mirror_weight", 0.0) > 0:
        with torch.no_grad(), t.autocast():
            mirrored = t.model(x.flip(-1)).flip(-1)
        term = mirror_consistency(logits, mirrored, valid)
        loss = loss + t.cfg["mirror_weight"] * term
        parts["mirror"] = float(term.detach())
    t.optimizer.zero_grad(set_to_none=True)
    if not torch.isfinite(loss):
        t.scheduler.step()
        return None
    t.scaler.scale(loss).backward()
    if t.cfg["grad_clip"] > 0:
        t.scaler.unscale_(t.optimizer)
        torch.nn.utils.clip_grad_norm_(t.model.parameters(), t.cfg["grad_clip"])
    t.scaler.step(t.optimizer)
    t.scaler.update()
    t.scheduler.step()
    if t.ema is not None:
        t.ema.update(t.model)
    return {"loss": float(loss.detach()), **parts, "iou": batch_iou(logits.detach(), y)}


def run_steps(t, it, epoch: int) -> bool:
    """Steps until the end of `epoch`; False when max_steps stopped the run first."""
    cfg, prog = t.cfg, t.progress
    sums = prog["epoch_sums"]
    end = (epoch + 1) * t.steps_per_epoch
    while prog["step"] < end:
        if cfg["max_steps"] and prog["step"] >= cfg["max_steps"]:
            t.save()
            print(f"max_steps={cfg['max_steps']} reached: stopped, resume with --resume")
            return False
        t0 = time.perf_counter()
        batch = next(it)
        t1 = time.perf_counter()
        stats = train_step(t, batch)
        prog["step"] += 1
        _accumulate(sums, stats, data=t1 - t0, total=time.perf_counter() - t0)
        if prog["step"] % cfg["save_every"] == 0:
            t.save()
        if prog["step"] % cfg["log_every"] == 0 or prog["step"] == end:
            _log(t, epoch, sums)
    return True


def _accumulate(sums: dict, stats: dict | None, data: float, total: float) -> None:
    sums["n_time"] = sums.get("n_time", 0) + 1
    sums["data_sec"] = sums.get("data_sec", 0.0) + data
    sums["step_sec"] = sums.get("step_sec", 0.0) + total
    if stats is None:
        sums["skipped"] = sums.get("skipped", 0) + 1
        return
    sums["n"] = sums.get("n", 0) + 1
    for key, value in stats.items():
        sums[key] = sums.get(key, 0.0) + value


def _log(t, epoch: int, sums: dict) -> None:
    n, nt = max(1, sums.get("n", 0)), max(1, sums.get("n_time", 0))
    in_epoch = t.progress["step"] - epoch * t.steps_per_epoch
    print(f"epoch {epoch + 1} step {in_epoch}/{t.steps_per_epoch} (total {t.progress['step']}) "
          f"loss {sums.get('loss', 0) / n:.4f} iou {sums.get('iou', 0) / n:.3f} "
          f"lr {t.scheduler.get_last_lr()[0]:.2e} {sums['step_sec'] / nt:.2f} s/step "
          f"(data {sums['data_sec'] / nt:.2f} s)", flush=True)


def validate(t) -> dict:
    model = t.shipped_model
    model.eval()

    def forward(x):
        with t.autocast():
            return model(x.to(memory_format=t.memory_format))

    return t.validator.run(forward, t.loss_fn, t.device)


def epoch_row(t, epoch: int) -> dict:
    sums = t.progress["epoch_sums"]
    n, nt = max(1, sums.get("n", 0)), max(1, sums.get("n_time", 0))
    row = {"epoch": epoch + 1, "step": t.progress["step"], "lr": t.scheduler.get_last_lr()[0]}
    for key in ("loss", "bce", "dice", "iou"):
        row[f"train_{key}"] = sums.get(key, 0.0) / n
    if "mirror" in sums:  # the mirror term's mean, where the config asks for it
        row["train_mirror"] = sums["mirror"] / n
    row["sec_per_step"] = sums.get("step_sec", 0.0) / nt
    row["data_sec_per_step"] = sums.get("data_sec", 0.0) / nt
    row["skipped_steps"] = sums.get("skipped", 0)
    return row


def end_epoch(t, epoch: int) -> bool:
    """Validate, keep the best, log; True when early stopping says stop."""
    cfg, prog = t.cfg, t.progress
    row = epoch_row(t, epoch)
    results = validate(t) if t.validator else {}
    for name, metrics in results.items():
        row.update({f"{name}/{k}": v for k, v in metrics.items() if k != "n"})
    row["val_sec"] = getattr(t.validator, "seconds", 0.0)
    score = _score(results, cfg) if results else -row["train_loss"]
    if score > prog["best"] + cfg["min_delta"] or not math.isfinite(prog["best"]):
        prog.update(best=score, best_epoch=epoch + 1, bad_epochs=0)
        t.save_best({"epoch": epoch + 1, "step": prog["step"], "metrics": results})
        row["best"] = 1
    else:
        prog["bad_epochs"] += 1
    t.history.append(row)
    prog.update(epoch=epoch + 1, epoch_sums={})
    stop = cfg["patience"] > 0 and prog["bad_epochs"] >= cfg["patience"]
    prog["done"] = stop or prog["epoch"] >= cfg["epochs"]
    t.save()
    t.write_history()
    _print_epoch(row, results, cfg)
    return stop


def _score(results: dict, cfg: dict) -> float:
    """The selection score, higher is better whatever the metric."""
    name, metric = cfg["best_set"], cfg["best_metric"]
    if name == "select":  # the sets held out of the training folders (holdout_sets)
        picked = [r[metric] for n, r in results.items() if n.endswith("-select")]
        if not picked:
            raise KeyError("best_set 'select' needs holdout_sets")
        value = sum(picked) / len(picked)
        return value if HIGHER_IS_BETTER.get(metric, False) else -value
    if name not in results:
        raise KeyError(f"best_set {name!r} is not a val set: {sorted(results)}")
    value = results[name][metric]
    return value if HIGHER_IS_BETTER.get(metric, False) else -value


def _print_epoch(row: dict, results: dict, cfg: dict) -> None:
    print(f"== epoch {row['epoch']}: train loss {row['train_loss']:.4f} iou {row['train_iou']:.3f}"
          f" ({row['sec_per_step']:.2f} s/step, val {row['val_sec']:.1f} s)"
          + (" *best*" if row.get("best") else ""), flush=True)
    for name, m in results.items():
        if name == "mean" and len(results) == 2:  # one val set: its mean is itself
            continue
        print(f"   {name:>16}: iou {m['iou']:.4f} f1 {m['f1']:.4f} mae {m['mae']:.4f} "
              f"bf {m['boundary_f']:.4f} hd {m['hausdorff']:.1f} loss {m['loss']:.4f}",
              flush=True)


def train_epochs(t) -> bool:
    """Run to the end; True when training finished (all epochs or early stop), False when
    max_steps cut it short (resumable)."""
    cfg, prog = t.cfg, t.progress
    if prog.get("done"):
        print("this run already finished (delete resume.pt or use another --out to retrain)")
        return True
    it = iter(t.loader())
    while prog["epoch"] < cfg["epochs"]:
        epoch = prog["epoch"]
        if t.size_at(epoch) != t.crop_size:  # the late, full-size epochs
            print(f"crop size {t.crop_size} -> {t.size_at(epoch)}", flush=True)
            it = iter(t.loader())
        set_train_mode(t.model, epoch < cfg["freeze_encoder_epochs"],
                       epoch < round(cfg["freeze_stride8_frac"] * cfg["epochs"]))
        if not run_steps(t, it, epoch):
            return False
        if end_epoch(t, epoch):
            print(f"early stop: no better {cfg['best_metric']} in {cfg['patience']} epochs")
            break
    print(f"best epoch {prog['best_epoch']}: score {prog['best']:.4f}; weights in {t.out}/best.pth")
    return True
