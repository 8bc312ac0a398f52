"""Measure where a set of weights should put its mask's 0.5, on a run's selection split, and move
it there through the head's bias.

    python -m train.threshold --run runs/distil-tail weights/bgremove-lite0.onnx
    python -m train.threshold --write 0.6 weights/bgremove-lite0.pth --out runs/t60/best.pth

The first form runs the weights once per selection photo (as `bgremove run` does, with the
file's own edge sharpening) and scores the mask after moving its decision threshold to each t:
q = sigmoid(logit(p) - logit(t)), so a pixel the network gives probability t becomes 0.5.
It prints IoU, MAE and boundary F per set and their means. Only the selection split is read,
never val/: t is chosen here (the highest mean IoU) and val/ is reported with it.

Why: the distilled weights keep more foreground than their labels on every set (val/davis
precision 0.78 against recall 0.90 for stage 19's epoch 7; the issue's "crowds and parked
motorbikes kept at half alpha"), as the teacher's own masks, which train them, are generous.

The second form writes a new .pth whose head bias is lowered by logit(t). The network's logits
are the only thing that changes, so every path that runs the file (tiling, TTA, the review
flags, `bgremove export` and its int8 file) sees the moved threshold with no code of its own;
the checkpoint's `extra["threshold"]` records what was moved (and accumulates if it is moved
again).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

THRESHOLDS = (0.5, 0.55, 0.6, 0.65, 0.7)
METRICS = ("iou", "mae", "boundary_f")


def shift(p: np.ndarray, t: float) -> np.ndarray:
    """sigmoid(logit(p) - logit(t)) without logits: p (1 - t) / (p (1 - t) + (1 - p) t)."""
    num = p * np.float32(1.0 - t)
    return (num / (num + (np.float32(1.0) - p) * np.float32(t))).astype(np.float32)


def score_thresholds(weights: str, items: dict[str, list[tuple[Path, Path]]],
                     thresholds: tuple[float, ...], threads: int = 1
                     ) -> dict[float, dict[str, dict]]:
    """{t: {set: {"iou", "mae", "boundary_f"}}}, means over each set's photos."""
    from bgremove.inference.sharpen import sharpen
    from bgremove.modeltools.metrics import image_metrics
    from train.calibrate import Sums, accumulate, labelled_masks, means, unsharpened_remover

    remover, factor = unsharpened_remover(weights, threads)  # sharpened after the shift
    sums: Sums = {t: {} for t in thresholds}
    for name, p, gt in labelled_masks(remover, items):
        for t in thresholds:
            accumulate(sums[t], name, image_metrics(sharpen(shift(p, t), factor), gt), METRICS)
    return means(sums)


def best_threshold(results: dict[float, dict[str, dict]]) -> float:
    """The t with the highest mean IoU over the sets (the lower t where two tie)."""
    return max(sorted(results), key=lambda t: (round(_mean(results[t], "iou"), 6), -t))


def write_threshold(src: Path, dst: Path, t: float) -> float:
    """Copy a .pth with its head bias lowered by logit(t); returns the bias change."""
    from bgremove.model.checkpoint import atomic_torch_save, read_checkpoint

    if not 0.0 < t < 1.0:
        raise SystemExit(f"threshold must be in (0, 1), got {t}")
    ckpt = read_checkpoint(src)
    delta = -math.log(t / (1.0 - t))
    ckpt["state_dict"]["head.bias"] = ckpt["state_dict"]["head.bias"] + delta
    extra = dict(ckpt.get("extra") or {})
    before = float(extra.get("threshold", 0.5))
    moved = 1.0 / (1.0 + math.exp(-(math.log(before / (1 - before)) - delta)))
    ckpt["extra"] = {**extra, "threshold": round(moved, 6)}
    atomic_torch_save(ckpt, dst)
    return delta


def _mean(sets: dict[str, dict], key: str) -> float:
    return float(np.mean([m[key] for m in sets.values()]))


def print_table(results: dict[float, dict[str, dict]]) -> None:
    names = list(next(iter(results.values())))
    print("     t  " + "  ".join(f"{n[:18]:>18}" for n in names) + "    mean IoU / MAE / bound.F")
    for t, sets in results.items():
        cells = "  ".join(f"{sets[n]['iou']:.4f}/{sets[n]['mae']:.4f}".rjust(18) for n in names)
        print(f"{t:6.3f}  {cells}    {_mean(sets, 'iou'):.4f} / {_mean(sets, 'mae'):.5f} / "
              f"{_mean(sets, 'boundary_f'):.4f}", flush=True)


def main(argv: list[str] | None = None) -> None:
    from train.calibrate import selection_items

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("weights", type=Path)
    parser.add_argument("--run", type=Path, help="training run whose selection.json to score on")
    parser.add_argument("--thresholds", type=float, nargs="+", default=list(THRESHOLDS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--write", type=float, metavar="T",
                        help="write a .pth (--out) whose 0.5 is this t of the given one")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.write is not None:
        if args.out is None or args.weights.suffix != ".pth":
            parser.error("--write takes a .pth and --out")
        delta = write_threshold(args.weights, args.out, args.write)
        print(f"{args.out}: head bias {delta:+.4f} (threshold {args.write} of {args.weights})")
        return
    if args.run is None:
        parser.error("--run is needed to measure (or --write to move a threshold)")
    items = selection_items(args.run)
    print(f"selection of {args.run}: " + ", ".join(f"{n} {len(p)}" for n, p in items.items()))
    results = score_thresholds(str(args.weights), items, tuple(args.thresholds), args.threads)
    print(f"\n{args.weights}: IoU / MAE per set after moving the threshold to t")
    print_table(results)
    print(f"highest mean IoU: t = {best_threshold(results)}")


if __name__ == "__main__":
    main()
