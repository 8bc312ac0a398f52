"""Measure the edge sharpening a set of weights needs, on a run's selection split, and store it.

    python -m train.calibrate --run runs/distil-320 weights/bgremove-lite0.onnx
    python -m train.calibrate --write 2 weights/bgremove-lite0.pth weights/bgremove-lite0*.onnx

The first form runs the weights once per selection photo (as `bgremove run` does: full
resolution, tiled where large, sharpening off) and scores its mask as `bgremove eval` does, after
sharpening by each factor (inference/sharpen.py): MAE per set and their mean, with IoU and
boundary F (which sharpening leaves unchanged: it keeps 0.5) and the share of soft pixels in the
written 8-bit alpha, which decontamination and PNG encoding pay for. Only the selection split is
read, never val/: the factor is chosen here and val/ is reported with it.

The second form writes the chosen factor into each file's stored preprocessing (a .pth's
"preprocessing", an .onnx file's metadata), so every tool that runs the file applies it. Export
copies it from the .pth, so exported and quantised files inherit it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

FACTORS = (1.0, 1.5, 2.0, 2.5, 3.0)
Sums = dict[float, dict[str, dict]]  # setting -> set -> running sums of its metrics and "n"


def score_factors(weights: str, items: dict[str, list[tuple[Path, Path]]],
                  factors: tuple[float, ...], threads: int = 1) -> dict[float, dict[str, dict]]:
    """{factor: {set: {"mae", "iou", "boundary_f", "soft"}}}, means over each set's photos."""
    from bgremove.imaging.compose import final_alpha
    from bgremove.inference.sharpen import sharpen
    from bgremove.modeltools.metrics import image_metrics

    remover, _ = unsharpened_remover(weights, threads)
    sums: Sums = {f: {} for f in factors}
    for name, p, gt in labelled_masks(remover, items):
        for f in factors:
            q = sharpen(p, f)
            m = image_metrics(q, gt)
            a8 = final_alpha(q)
            m["soft"] = float(np.count_nonzero((a8 > 0) & (a8 < 255)) / a8.size)
            accumulate(sums[f], name, m, ("mae", "iou", "boundary_f", "soft"))
    return means(sums)


def pick_factor(results: dict[float, dict[str, dict]], tolerance: float = 0.0005) -> float:
    """The smallest factor whose mean MAE over the sets is within `tolerance` of the best one:
    sharper masks cost soft edges where the photo has them, so no more than the split pays for."""
    mae = {f: float(np.mean([m["mae"] for m in sets.values()])) for f, sets in results.items()}
    best = min(mae.values())
    return min(f for f, v in mae.items() if v <= best + tolerance)


def unsharpened_remover(weights: str, threads: int = 1):
    """(a Remover with the file's sharpening off, that factor): what is measured on the split
    is the network's own mask, each setting applied to it afterwards."""
    from bgremove.inference.remover import Remover

    remover = Remover(weights, device="cpu", threads=threads)
    factor = remover.backend.preprocessing.sharpen
    remover.backend.preprocessing = dataclasses.replace(remover.backend.preprocessing, sharpen=1.0)
    return remover, factor


def labelled_masks(remover, items: dict[str, list[tuple[Path, Path]]]):
    """(set name, HW float32 mask, ground truth) for every photo whose mask has its size."""
    from bgremove.modeltools.evaluate import read_mask, read_rgb

    for name, pairs in items.items():
        for image_path, mask_path in pairs:
            rgb, gt = read_rgb(image_path), read_mask(mask_path)
            if rgb.shape[:2] == gt.shape:
                yield name, remover.mask(rgb), gt


def accumulate(sums: dict[str, dict], name: str, metrics: dict, keys: tuple[str, ...]) -> None:
    acc = sums.setdefault(name, {"n": 0})
    acc["n"] += 1
    for k in keys:
        acc[k] = acc.get(k, 0.0) + metrics[k]


def means(sums: Sums) -> dict[float, dict[str, dict]]:
    return {key: {n: {k: v / a["n"] for k, v in a.items() if k != "n"} for n, a in sets.items()}
            for key, sets in sums.items()}


def selection_items(run: Path) -> dict[str, list[tuple[Path, Path]]]:
    from train.score import selection_sets

    return {s.name: [it for it in s.items if it[1] is not None] for s in selection_sets(run)}


def split_items(run: Path, limit: int = 0) -> dict[str, list[tuple[Path, Path]]]:
    """selection_items, at most `limit` photos per set (0 = all), announced on stdout."""
    items = selection_items(run)
    if limit:
        items = {n: pairs[:limit] for n, pairs in items.items()}
    print(f"selection of {run}: " + ", ".join(f"{n} {len(p)}" for n, p in items.items()))
    return items


def write_factor(paths: list[Path], factor: float) -> None:
    write_preprocessing(paths, "sharpen", factor)


def write_preprocessing(paths: list[Path], key: str, value: float) -> None:
    """Store one Preprocessing field in each file (a .pth's "preprocessing", an .onnx file's
    metadata); export copies the .pth's into the files it makes."""
    for path in paths:
        if path.suffix == ".onnx":
            _write_onnx(path, key, value)
        else:
            _write_pth(path, key, value)
        print(f"{path}: {key} = {value}")


def _write_onnx(path: Path, key: str, value: float) -> None:
    import onnx

    from bgremove.inference.backends.onnx import METADATA_KEY

    model = onnx.load(str(path))
    entry = next((e for e in model.metadata_props if e.key == METADATA_KEY), None)
    if entry is None:
        raise SystemExit(f"{path} has no {METADATA_KEY} metadata: not a bgremove file")
    entry.value = json.dumps({**json.loads(entry.value), key: value}, sort_keys=True)
    onnx.save(model, str(path))


def _write_pth(path: Path, key: str, value: float) -> None:
    from bgremove.model.checkpoint import atomic_torch_save, read_checkpoint

    ckpt = read_checkpoint(path)
    ckpt["preprocessing"] = {**(ckpt.get("preprocessing") or {}), key: value}
    atomic_torch_save(ckpt, path)


def print_table(results: dict[float, dict[str, dict]]) -> None:
    names = list(next(iter(results.values())))
    print("factor  mean MAE  " + "  ".join(f"{n[:14]:>14}" for n in names)
          + "    IoU  bound.F   soft")
    for f, sets in results.items():
        mean = {k: float(np.mean([sets[n][k] for n in names])) for k in ("mae", "iou",
                                                                       "boundary_f", "soft")}
        print(f"{f:6.2f}  {mean['mae']:8.5f}  " + "  ".join(f"{sets[n]['mae']:14.4f}" for n in names)
              + f"  {mean['iou']:.4f}  {mean['boundary_f']:.4f}  {mean['soft']:.3f}", flush=True)


def split_tool_args(argv: list[str] | None, doc: str, grid: str, kind: type, default: tuple,
                    value: str, key: str, check: Callable[[argparse.Namespace], str | None]
                    = lambda args: None) -> tuple[argparse.Namespace, dict] | None:
    """The command line of a tool that scores a grid of one stored Preprocessing field (`key`)
    on a run's selection split, or writes the value chosen (train.calibrate, train.guide):
    (args, the split's items) to measure, or None once `--write` has stored a value. `check`
    returns an error message for arguments the tool cannot measure with."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("weights", nargs="+", type=Path)
    parser.add_argument("--run", type=Path, help="training run whose selection.json to score on")
    parser.add_argument(f"--{grid}", type=kind, nargs="+", default=list(default))
    parser.add_argument("--limit", type=int, default=0, help="photos per set (0 = all)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--write", type=kind, metavar=value,
                        help=f"store {value} in the weights files instead of measuring")
    args = parser.parse_args(argv)
    if args.write is not None:
        write_preprocessing(args.weights, key, args.write)
        return None
    if args.run is None:
        parser.error(f"--run is needed to measure (or --write to store a {value.lower()})")
    problem = check(args)
    if problem:
        parser.error(problem)
    return args, split_items(args.run, args.limit)


def main(argv: list[str] | None = None) -> None:
    parsed = split_tool_args(argv, __doc__, "factors", float, FACTORS, "FACTOR", "sharpen")
    if parsed is None:
        return
    args, items = parsed
    for path in args.weights:
        print(f"\n{path}: MAE after sharpening by each factor")
        results = score_factors(str(path), items, tuple(args.factors), args.threads)
        print_table(results)
        print(f"smallest factor within 0.0005 of the best mean MAE: {pick_factor(results)}")


if __name__ == "__main__":
    main()
