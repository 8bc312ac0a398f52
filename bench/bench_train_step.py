"""Seconds per training step (forward + backward + AdamW) of the recipe's speed choices.

    python bench/bench_train_step.py [--steps 6] [--batch 8] [--threads 2]

Variants, each on random batches of the given size, alternated round by round so a busy machine
slows them alike; medians printed, and the speed-up of each against the old recipe (full-scale
stride-2 stage, whole encoder trained, 320 px):
- slim: the slim stride-2 stage (model_args stride2="slim");
- frozen8: the encoder's stem and blocks up to stride 8 frozen, their BatchNorm in eval;
- 256: 256 px crops instead of 320;
- deep supervision heads on (they are part of the new recipe, and cost a little).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # train/ is a folder of scripts

from bgremove.model import build_model  # noqa: E402
from train.loop import set_train_mode  # noqa: E402
from train.loss import SegLoss  # noqa: E402

VARIANTS = {
    "old: full stride-2, 320": ({"stride2": "full"}, False, 320),
    "slim, 320": ({"stride2": "slim"}, False, 320),
    "full, frozen to stride 8, 320": ({"stride2": "full"}, True, 320),
    "slim + frozen8, 320": ({"stride2": "slim"}, True, 320),
    "slim + frozen8 + deep sup., 256": ({"stride2": "slim", "deep_supervision": True}, True, 256),
    "slim + deep sup., 320": ({"stride2": "slim", "deep_supervision": True}, False, 320),
}


def make(args: dict, frozen: bool):
    model = build_model({"encoder": "lite0", **args}).to(memory_format=torch.channels_last)
    set_train_mode(model, False, frozen_to_stride8=frozen)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    return model, opt


def step(model, opt, loss_fn, batch: int, size: int) -> float:
    x = torch.randn(batch, 3, size, size).contiguous(memory_format=torch.channels_last)
    y = (torch.rand(batch, 1, size, size) > 0.5).float()
    t0 = time.perf_counter()
    logits, aux = model.forward_aux(x)
    loss, _ = loss_fn(logits, y, None, aux)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    loss_fn = SegLoss(1.0, 0.0, iou_weight=1.0)
    built = {name: make(a, f) for name, (a, f, _) in VARIANTS.items()}
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for name, (model, opt) in built.items():  # warm-up: oneDNN picks its kernels
        step(model, opt, loss_fn, args.batch, VARIANTS[name][2])
    for _ in range(args.steps):
        for name, (model, opt) in built.items():
            times[name].append(step(model, opt, loss_fn, args.batch, VARIANTS[name][2]))
    base = statistics.median(times["old: full stride-2, 320"])
    print(f"batch {args.batch}, {args.threads} threads, median of {args.steps} steps")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:34s} {med:6.2f} s/step  {base / med:4.2f}x")


if __name__ == "__main__":
    main()
