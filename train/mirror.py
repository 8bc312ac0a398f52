"""Measure how busy a photo's backdrop must be for its first pass to be mirrored too, and store it.

    python -m train.mirror --run runs/split weights/bgremove-lite0.onnx
    python -m train.mirror --write 6 weights/bgremove-lite0.pth weights/bgremove-lite0*.onnx

The first form runs the weights over the selection photos as `bgremove run --mirror` does (the
file's own threshold, guided filter, sharpening and zoom), once never mirrored and once with every photo's
first pass averaged with its mirror image's, reads each photo's backdrop busyness on its global
pass (bgremove/inference/mirror.py), and scores, for each level on the grid, the masks that level
would give: IoU, MAE and boundary F as `bgremove eval` scores them, per set and their means, and
the share of photos mirrored (each one a second network call). Only the selection split is read,
never val/. The second form stores the level in each file (Preprocessing.mirror_busy), as
train.calibrate does for sharpening.

The rule (written down on 2026-12-04 before any val figure of a selective mirror was read; val's
figures with the mirror on every photo, `--tta`, had been read before): among the grid's levels
and "never", those whose mean IoU is within 0.0005 of the best row's (never and every photo
included) and whose mean MAE and boundary F are no worse than never's; of those the one that
mirrors the fewest photos: never (0) if it is among them, else the highest level.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from train.zoom import METRICS, set_mean

LEVELS = (2.0, 3.0, 4.0, 6.0, 8.0, 12.0)
EVERY = 1e-9  # a level every photo with some backdrop reaches: the mirror for (almost) all
TOLERANCE = 0.0005

Row = tuple[str, float, dict, dict]  # set, busyness, metrics never mirrored, metrics mirrored


def score_photos(weights: str, items: dict[str, list[tuple[Path, Path]]], threads: int = 1
                 ) -> list[Row]:
    """One Row for every split photo whose mask has its size."""
    from bgremove.inference.mirror import backdrop_busyness
    from bgremove.inference.remover import Remover
    from bgremove.inference.tiling import global_view
    from bgremove.modeltools.evaluate import read_mask, read_rgb
    from bgremove.modeltools.metrics import image_metrics

    remover = Remover(weights, device="cpu", threads=threads)
    rows = []
    for name, pairs in items.items():
        for image_path, mask_path in pairs:
            rgb, gt = read_rgb(image_path), read_mask(mask_path)
            if rgb.shape[:2] != gt.shape:
                continue
            small = global_view(rgb, remover.preprocessing)  # read where inference reads it
            busy = backdrop_busyness(small, remover.first_pass([small])[0])
            scored = []
            for level in (0.0, EVERY):
                remover.mirror_busy = level
                scored.append(image_metrics(remover.mask(rgb), gt))
            rows.append((name, busy, scored[0], scored[1]))
    return rows


def tabulate(rows: list[Row], levels: tuple[float, ...]) -> dict[float, dict[str, dict]]:
    """{level: {set: means of METRICS and "mirrored"}}; level 0 = never, EVERY = every photo."""
    out: dict[float, dict[str, dict]] = {}
    for level in (0.0, EVERY, *sorted(levels)):
        sums: dict[str, dict] = {}
        for name, busy, plain, mirrored in rows:
            on = level > 0 and busy >= level
            acc = sums.setdefault(name, {"n": 0, "mirrored": 0.0, **dict.fromkeys(METRICS, 0.0)})
            acc["n"] += 1
            acc["mirrored"] += on
            for k in METRICS:
                acc[k] += (mirrored if on else plain)[k]
        out[level] = {n: {k: v / a["n"] for k, v in a.items() if k != "n"} for n, a in sums.items()}
    return out


def pick_level(results: dict[float, dict[str, dict]]) -> float:
    """The rule in the module's docstring; results must hold level 0 (never)."""
    never = results[0.0]
    best = max(set_mean(sets, "iou") for sets in results.values())
    ok = [lv for lv, sets in results.items()
          if set_mean(sets, "iou") >= best - TOLERANCE and set_mean(sets, "mae") <= set_mean(never, "mae")
          and set_mean(sets, "boundary_f") >= set_mean(never, "boundary_f")]
    return 0.0 if not ok or 0.0 in ok else max(ok)


def print_table(results: dict[float, dict[str, dict]]) -> None:
    names = list(next(iter(results.values())))
    print("level  mean IoU / MAE / BF / mirrored    " + "  ".join(f"{n.split('/')[-1][:22]:>22}"
                                                              for n in names))
    for level, sets in results.items():
        label = "never" if level == 0 else "every" if level == EVERY else f"{level:.1f}"
        mean = "  ".join(f"{set_mean(sets, k):.5f}" for k in (*METRICS, "mirrored"))
        cells = "  ".join(f"{sets[n]['iou']:.4f} m{sets[n]['mirrored']:.2f}" for n in names)
        print(f"{label:>5}  {mean}  {cells}", flush=True)


def main(argv: list[str] | None = None) -> None:
    from train.calibrate import split_tool_args

    parsed = split_tool_args(argv, __doc__, "levels", float, LEVELS, "LEVEL", "mirror_busy",
                             check=lambda a: None if all(lv > 0 for lv in a.levels)
                             else "--levels are above 0 (0 is never, always measured)")
    if parsed is None:
        return
    args, items = parsed
    for path in args.weights:
        print(f"\n{path}: the first pass averaged with its mirror where the backdrop is this busy")
        rows = score_photos(str(path), items, args.threads)
        for name in dict.fromkeys(r[0] for r in rows):
            busy = np.array([r[1] for r in rows if r[0] == name])
            print(f"  busyness {name.split('/')[-1]}: quartiles "
                  + " / ".join(f"{q:.1f}" for q in np.percentile(busy, (25, 50, 75))))
        results = tabulate(rows, tuple(args.levels))
        print_table(results)
        print(f"level by the rule: {pick_level(results)}")


if __name__ == "__main__":
    main()
