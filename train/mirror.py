"""Measure from what share of unsure pixels a photo's first pass is averaged with its mirror, and store it.

    python -m train.mirror --run runs/split weights/bgremove-lite0.onnx
    python -m train.mirror --write 0.08 weights/bgremove-lite0.pth weights/bgremove-lite0*.onnx

The first form runs the weights over the selection photos as `bgremove run` does (the file's own
threshold, guided filter, sharpening and zoom), once with the mirror never and once for every
photo, reads each photo's unsure share on its first pass (bgremove/inference/mirror.py), and
scores, for each share on the grid, the masks that share would give: IoU, MAE and boundary F as
`bgremove eval` scores them, per set and their means, and the share of photos mirrored. Only the
selection split is read, never val/. The second form stores the share in each file
(Preprocessing.mirror_unsure), as train.calibrate does for sharpening.

The rule (written down on 2026-12-04 before any val figure of the unsure mirror was read; val's
figures with the mirror on every photo, `--tta`, had been read before): among the grid's shares
and "never", those whose mean IoU is within 0.0005 of the best row's (never and every-photo
included) and whose mean MAE and boundary F are no worse than never's; of those the one that
mirrors the fewest photos: never (0) if it is among them, else the largest share.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SHARES = (0.02, 0.04, 0.06, 0.08, 0.12, 0.16)
ALWAYS = 1e-9  # a share every photo with an unsure pixel reaches: the mirror for (almost) all
METRICS = ("iou", "mae", "boundary_f")
TOLERANCE = 0.0005


def score_photos(weights: str, items: dict[str, list[tuple[Path, Path]]], threads: int = 1
                 ) -> list[tuple[str, float, dict, dict]]:
    """(set, unsure share, metrics never mirrored, metrics mirrored) for every split photo."""
    from bgremove.inference.mirror import unsure_share
    from bgremove.inference.remover import Remover
    from bgremove.modeltools.evaluate import read_mask, read_rgb
    from bgremove.modeltools.metrics import image_metrics

    remover = Remover(weights, device="cpu", threads=threads)
    rows = []
    for name, pairs in items.items():
        for image_path, mask_path in pairs:
            rgb, gt = read_rgb(image_path), read_mask(mask_path)
            if rgb.shape[:2] != gt.shape:
                continue
            share = unsure_share(remover.first_pass([rgb])[0])
            masks = []
            for setting in (0.0, ALWAYS):
                remover.mirror_unsure = setting
                masks.append(image_metrics(remover.mask(rgb), gt))
            rows.append((name, share, masks[0], masks[1]))
    return rows


def tabulate(rows: list[tuple[str, float, dict, dict]], shares: tuple[float, ...]
             ) -> dict[float, dict[str, dict]]:
    """{share: {set: means of METRICS and "mirrored"}}; share 0 = never, ALWAYS = every photo."""
    out: dict[float, dict[str, dict]] = {}
    for share in (0.0, *sorted(shares), ALWAYS):
        sums: dict[str, dict] = {}
        for name, unsure, plain, mirrored in rows:
            on = share > 0 and unsure >= share
            acc = sums.setdefault(name, {"n": 0, "mirrored": 0.0, **dict.fromkeys(METRICS, 0.0)})
            acc["n"] += 1
            acc["mirrored"] += on
            for k in METRICS:
                acc[k] += (mirrored if on else plain)[k]
        out[share] = {n: {k: v / a["n"] for k, v in a.items() if k != "n"} for n, a in sums.items()}
    return out


def _mean(sets: dict[str, dict], key: str) -> float:
    return float(np.mean([m[key] for m in sets.values()]))


def pick_share(results: dict[float, dict[str, dict]]) -> float:
    """The rule in the module's docstring; results must hold share 0 (never)."""
    never = results[0.0]
    best = max(_mean(sets, "iou") for sets in results.values())
    ok = [s for s, sets in results.items()
          if _mean(sets, "iou") >= best - TOLERANCE and _mean(sets, "mae") <= _mean(never, "mae")
          and _mean(sets, "boundary_f") >= _mean(never, "boundary_f")]
    return 0.0 if not ok or 0.0 in ok else max(ok)


def print_table(results: dict[float, dict[str, dict]]) -> None:
    names = list(next(iter(results.values())))
    print("share      mean IoU / MAE / BF / mirrored  " + "  ".join(f"{n.split('/')[-1][:22]:>22}"
                                                             for n in names))
    for share, sets in results.items():
        label = "never" if share == 0 else "every" if share == ALWAYS else f"{share:.2f}"
        mean = "  ".join(f"{_mean(sets, k):.5f}" for k in (*METRICS, "mirrored"))
        cells = "  ".join(f"{sets[n]['iou']:.4f} m{sets[n]['mirrored']:.2f}" for n in names)
        print(f"{label:>5}  {mean}  {cells}", flush=True)


def main(argv: list[str] | None = None) -> None:
    from train.calibrate import split_tool_args

    parsed = split_tool_args(argv, __doc__, "shares", float, SHARES, "SHARE", "mirror_unsure",
                             check=lambda a: None if all(0 < s < 1 for s in a.shares)
                             else "--shares lie between 0 and 1")
    if parsed is None:
        return
    args, items = parsed
    for path in args.weights:
        print(f"\n{path}: the first pass averaged with its mirror from each unsure share")
        results = tabulate(score_photos(str(path), items, args.threads), tuple(args.shares))
        print_table(results)
        print(f"share by the rule: {pick_share(results)}")


if __name__ == "__main__":
    main()
