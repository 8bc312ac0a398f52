"""Measure the largest crop a small object is predicted again on, on a selection split, and store it.

    python -m train.zoom --run runs/split weights/bgremove-lite0.onnx
    python -m train.zoom --write 0.7 weights/bgremove-lite0.pth weights/bgremove-lite0*.onnx
    python -m train.zoom --run runs/split-small --mirror-at 0.7 weights/bgremove-lite0.onnx
    python -m train.zoom --write-mirror 1 weights/bgremove-lite0.pth weights/bgremove-lite0*.onnx

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

With a split of small objects beside the run's (train/small_split.py; `train.gate --small-run`),
the area is chosen there by the same rule, and the run's split only guards it: kept if its mean
IoU there is no lower than without the zoom (`pick_area_on_small`; written down before any
candidate was gated with it).

The third and fourth do the same for the mirror (Preprocessing.zoom_mirror: the crop averaged
with its mirror image's prediction), scored at one area with and without it. Its rule: kept only
if mean IoU, MAE and boundary F are all no worse with it. It is measured on a split of small
objects (train/small_split.py), where every photo takes the second look: stage 20's split holds
23 such photos among 360, too few to tell one second look from another.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

AREAS = (0.0, 0.3, 0.5, 0.7)
METRICS = ("iou", "mae", "boundary_f")


def score_areas(weights: str, items: dict[str, list[tuple[Path, Path]]],
                areas: tuple[float, ...], threads: int = 1,
                mirror: bool | None = None) -> dict[float, dict[str, dict]]:
    """{area: {set: {"iou", "mae", "boundary_f", "changed"}}}: means over each set's photos,
    "changed" the share of them whose mask differs from the first area's. mirror: the crop's
    mirror on or off (None: as the file says)."""
    import dataclasses

    from bgremove.inference.remover import Remover
    from bgremove.modeltools.metrics import image_metrics
    from train.calibrate import Sums, accumulate, labelled_masks, means

    remover = Remover(weights, device="cpu", threads=threads)
    if mirror is not None:
        pre = remover.backend.preprocessing
        remover.backend.preprocessing = dataclasses.replace(pre, zoom_mirror=mirror)
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


def set_mean(sets: dict[str, dict], key: str) -> float:
    """The mean over a split's sets of one metric (each set counts once, whatever its size)."""
    return float(np.mean([m[key] for m in sets.values()]))


def pick_area(results: dict[float, dict[str, dict]]) -> float:
    """The rule in the module's docstring; results must hold area 0 (the zoom off)."""
    off = results[0.0]
    best = max(set_mean(sets, "iou") for sets in results.values())
    area = max(a for a, sets in results.items() if set_mean(sets, "iou") >= best)
    return area if _no_worse(results[area], off) else 0.0


def _no_worse(sets: dict[str, dict], base: dict[str, dict]) -> bool:
    """Mean IoU, MAE and boundary F all at least as good as `base`'s: both rules' clause."""
    return (set_mean(sets, "iou") >= set_mean(base, "iou") and set_mean(sets, "mae") <= set_mean(base, "mae")
            and set_mean(sets, "boundary_f") >= set_mean(base, "boundary_f"))


def pick_area_on_small(small: dict[float, dict[str, dict]],
                       guard: dict[float, dict[str, dict]]) -> float:
    """The area's rule where a small-object split exists (train.gate --small-run, since
    2026-12-04 14:43): `pick_area` on that split, then kept only if the run's own split (`guard`,
    scored at 0 and that area) loses no mean IoU with it. The run's split holds ~23 zoomed photos
    of 360: its MAE rose 0.0004 with the zoom and refused it for stage 33's soup while IoU and
    boundary F rose; its IoU still guards the photos the zoom should leave alone."""
    area = pick_area(small)
    if area and set_mean(guard[area], "iou") < set_mean(guard[0.0], "iou"):
        return 0.0
    return area


def score_mirror(weights: str, items: dict[str, list[tuple[Path, Path]]], area: float,
                 threads: int = 1) -> dict[bool, dict[str, dict]]:
    """{mirror off/on: {set: metrics}} at one area (as score_areas)."""
    results = {m: score_areas(weights, items, (area,), threads, mirror=m)[area] for m in (False, True)}
    for sets in results.values():  # "changed" compares areas: here there is one
        for row in sets.values():
            row.pop("changed", None)
    return results


def pick_mirror(results: dict[bool, dict[str, dict]]) -> bool:
    """The mirror's rule in the module's docstring."""
    return _no_worse(results[True], results[False])


def print_table(results: dict[float, dict[str, dict]]) -> None:
    names = list(next(iter(results.values())))
    print("area  mean IoU / MAE / BF      " + "  ".join(f"{n.split('/')[-1][:24]:>24}" for n in names))
    for area, sets in results.items():
        mean = "  ".join(f"{set_mean(sets, k):.5f}" for k in METRICS)
        cells = "  ".join(f"{sets[n]['iou']:.4f} / {sets[n]['mae']:.4f}"
                          + (f" z{sets[n]['changed']:.2f}" if "changed" in sets[n] else "")
                          for n in names)
        print(f"{area:4.2f}  {mean}  {cells}", flush=True)


def mirror_main(argv: list[str]) -> bool:
    """The mirror's two forms (--mirror-at, --write-mirror); False when argv is neither."""
    import argparse

    from train.calibrate import split_items, write_preprocessing

    # No --help of its own (the area form's doc has both) and no abbreviations (--write is its).
    ap = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    ap.add_argument("weights", nargs="*", type=Path)
    ap.add_argument("--run", type=Path)
    ap.add_argument("--mirror-at", type=float, metavar="AREA")
    ap.add_argument("--write-mirror", type=int, choices=(0, 1))
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args, rest = ap.parse_known_args(argv)
    if args.write_mirror is None and args.mirror_at is None:
        return False
    if rest or not args.weights:
        ap.error(f"weights files and nothing else expected, got {rest or 'no files'}")
    if args.write_mirror is not None:
        write_preprocessing(args.weights, "zoom_mirror", bool(args.write_mirror))
        return True
    if args.run is None or args.mirror_at <= 0:
        ap.error("--mirror-at needs --run and an area above 0")
    items = split_items(args.run, args.limit)
    for path in args.weights:
        results = score_mirror(str(path), items, args.mirror_at, args.threads)
        print(f"\n{path}: rows 0 and 1, the crop alone and averaged with its mirror (area "
              f"{args.mirror_at})")
        print_table({float(m): sets for m, sets in results.items()})
        print(f"mirror by the rule: {int(pick_mirror(results))}")
    return True


def main(argv: list[str] | None = None) -> None:
    import sys

    from train.calibrate import split_tool_args

    if mirror_main(sys.argv[1:] if argv is None else argv):
        return
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
