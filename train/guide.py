"""Measure the guided-filter radius a set of weights needs, on a run's selection split, and store it.

    python -m train.guide --run runs/distil-relabel weights/bgremove-lite0.onnx
    python -m train.guide --write 2 weights/bgremove-lite0.pth weights/bgremove-lite0*.onnx

The first form runs the weights over the selection photos once per radius (as `bgremove run`
does: full resolution, tiled where large, with the file's own threshold and sharpening; the
filter works inside each model call, bgremove/inference/guided.py) and scores the masks as
`bgremove eval` does: IoU, MAE and boundary F per set and their means. Only the selection split
is read, never val/: the radius is chosen here and val/ is reported with it.

The rule (fixed before any val figure with the filter was read): the smallest radius within
0.0005 of the best mean IoU, kept only if its mean MAE and mean boundary F are no worse than
without the filter; otherwise 0 (off). The second form writes the radius into each file's
stored preprocessing (Preprocessing.guide), as train.calibrate does for sharpening.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

RADII = (0, 1, 2, 3, 4, 6)
METRICS = ("iou", "mae", "boundary_f")


def score_radii(weights: str, items: dict[str, list[tuple[Path, Path]]],
                radii: tuple[int, ...], threads: int = 1) -> dict[int, dict[str, dict]]:
    """{radius: {set: {"iou", "mae", "boundary_f"}}}, means over each set's photos."""
    from bgremove.inference.remover import Remover
    from bgremove.modeltools.metrics import image_metrics
    from train.calibrate import Sums, accumulate, labelled_masks, means

    remover = Remover(weights, device="cpu", threads=threads)
    stored = remover.backend.preprocessing
    sums: Sums = {}
    for r in radii:
        remover.backend.preprocessing = dataclasses.replace(stored, guide=r)
        sums[r] = {}
        for name, mask, gt in labelled_masks(remover, items):
            accumulate(sums[r], name, image_metrics(mask, gt), METRICS)
    remover.backend.preprocessing = stored
    return means(sums)


def _mean(sets: dict[str, dict], key: str) -> float:
    return float(np.mean([m[key] for m in sets.values()]))


def pick_radius(results: dict[int, dict[str, dict]], tolerance: float = 0.0005) -> int:
    """The rule in the module's docstring; results must hold radius 0 (the filter off)."""
    off = results[0]
    best = max(_mean(sets, "iou") for sets in results.values())
    r = min(r for r, sets in results.items() if _mean(sets, "iou") >= best - tolerance)
    sets = results[r]
    if _mean(sets, "mae") > _mean(off, "mae") or _mean(sets, "boundary_f") < _mean(off, "boundary_f"):
        return 0
    return r


def print_table(results: dict[int, dict[str, dict]]) -> None:
    names = list(next(iter(results.values())))
    print("radius  mean IoU / MAE / BF      " + "  ".join(f"{n.split('/')[-1][:19]:>19}" for n in names))
    for r, sets in results.items():
        mean = "  ".join(f"{_mean(sets, k):.5f}" for k in METRICS)
        cells = "  ".join(f"{sets[n]['iou']:.4f} / {sets[n]['mae']:.4f}" for n in names)
        print(f"{r:6d}  {mean}  {cells}", flush=True)


def main(argv: list[str] | None = None) -> None:
    from train.calibrate import split_tool_args

    parsed = split_tool_args(argv, __doc__, "radii", int, RADII, "RADIUS", "guide", check=lambda a: (
        None if 0 in a.radii else "--radii must include 0: the rule compares with the filter off"))
    if parsed is None:
        return
    args, items = parsed
    for path in args.weights:
        print(f"\n{path}: masks with the guided filter at each radius (network pixels)")
        results = score_radii(str(path), items, tuple(args.radii), args.threads)
        print_table(results)
        print(f"radius by the rule: {pick_radius(results)}")


if __name__ == "__main__":
    main()
