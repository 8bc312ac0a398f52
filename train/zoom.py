"""Measure the largest crop a small object is predicted again on, on a selection split, and store it.

    python -m train.zoom --run runs/split weights/bgremove-lite0.onnx
    python -m train.zoom --write 0.7 weights/bgremove-lite0.pth weights/bgremove-lite0*.onnx

The first form runs the weights over the selection photos once per crop area (as `bgremove run`
does, with the file's own threshold, guided filter and sharpening; bgremove/inference/zoom.py)
and scores the masks as `bgremove eval` does: IoU, MAE and boundary F per set and their means,
and how many photos the zoom changed. Only the selection split is read, never val/: the area is
chosen here and val/ is reported with it.

The rule (fixed before any val figure of the whole pipeline with the zoom was read): the area
with the best mean IoU, kept only if its mean IoU, MAE and boundary F are all no worse than
without the zoom; otherwise 0 (off). Ties go to the larger area: where the split cannot tell
them apart, the zoom's purpose (small objects, which the split holds few of) decides. The
second form writes the area into each file's stored preprocessing (Preprocessing.zoom), as
train.calibrate does for sharpening.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

AREAS = (0.0, 0.3, 0.5, 0.7)
METRICS = ("iou", "mae", "boundary_f")


def score_areas(weights: str, items: dict[str, list[tuple[Path, Path]]],
                areas: tuple[float, ...], threads: int = 1) -> dict[float, dict[str, dict]]:
    """{area: {set: {"iou", "mae", "boundary_f", "changed"}}}: means over each set's photos,
    "changed" the share of them whose mask differs from the first area's."""
    from bgremove.inference.remover import Remover
    from bgremove.modeltools.metrics import image_metrics
    from train.calibrate import Sums, accumulate, labelled_masks, means

    remover = Remover(weights, device="cpu", threads=threads)
    sums: Sums = {}
    first: list[int] = []  # a checksum of each mask at the first area
    for area in areas:
        remover.zoom = area
        sums[area] = {}
        for k, (name, mask, gt) in enumerate(labelled_masks(remover, items)):
            digest = zlib.crc32(mask.tobytes())
            if area == areas[0]:
                first.append(digest)
            metrics = {**image_metrics(mask, gt), "changed": float(digest != first[k])}
            accumulate(sums[area], name, metrics, (*METRICS, "changed"))
    return means(sums)


def _mean(sets: dict[str, dict], key: str) -> float:
    return float(np.mean([m[key] for m in sets.values()]))


def pick_area(results: dict[float, dict[str, dict]]) -> float:
    """The rule in the module's docstring; results must hold area 0 (the zoom off)."""
    off = results[0.0]
    best = max(_mean(sets, "iou") for sets in results.values())
    area = max(a for a, sets in results.items() if _mean(sets, "iou") >= best)
    sets = results[area]
    if (_mean(sets, "iou") < _mean(off, "iou") or _mean(sets, "mae") > _mean(off, "mae")
            or _mean(sets, "boundary_f") < _mean(off, "boundary_f")):
        return 0.0
    return area


def print_table(results: dict[float, dict[str, dict]]) -> None:
    names = list(next(iter(results.values())))
    print("area  mean IoU / MAE / BF      " + "  ".join(f"{n.split('/')[-1][:24]:>24}" for n in names))
    for area, sets in results.items():
        mean = "  ".join(f"{_mean(sets, k):.5f}" for k in METRICS)
        cells = "  ".join(f"{sets[n]['iou']:.4f} / {sets[n]['mae']:.4f} z{sets[n]['changed']:.2f}"
                          for n in names)
        print(f"{area:4.2f}  {mean}  {cells}", flush=True)


def main(argv: list[str] | None = None) -> None:
    from train.calibrate import split_tool_args

    parsed = split_tool_args(argv, __doc__, "areas", float, AREAS, "AREA", "zoom", check=lambda a: (
        None if 0.0 in a.areas else "--areas must include 0: the rule compares with the zoom off"))
    if parsed is None:
        return
    args, items = parsed
    args.areas = sorted(args.areas)  # area 0 first: the masks the others are compared with
    for path in args.weights:
        print(f"\n{path}: masks with a second look at objects whose crop covers at most each area")
        results = score_areas(str(path), items, tuple(args.areas), args.threads)
        print_table(results)
        print(f"area by the rule: {pick_area(results)}")


if __name__ == "__main__":
    main()
