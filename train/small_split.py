"""A selection split of small objects, drawn from the training pools, to judge the second look.

    python -m train.small_split cache/labels/u2net-int8/imagenet-1k cache/labels/u2net-int8/caltech101 \\
        cache/labels/u2net-int8/grocery cache/labels/u2net-int8/clothing \\
        cache/labels/u2net-int8/backgrounds train/ccp --exclude train/selections/stage20.json \\
        --out train/selections/small.json
    python -m train.zoom --run runs/split-small weights/bgremove-lite0.onnx   # (selection.json = it)

Stage 20's split (360 photos) holds 23 whose object the zoom predicts again (inference/zoom.py):
it can say a second look does no harm, not which one is best, while val/davis, whose median
object covers 5% of the frame, is where the zoom pays. This split holds only photos whose
*label's* object, with the zoom's margin, fits in a crop of at most `--max-area` of the frame
(zoom_box on the label, so the model being judged does not choose its own test photos), and
whose label covers at least `--min-coverage` of it (a near-empty teacher label is a few pixels
that decide the IoU: weights/MODEL_CARD.md, "The int8 teacher").

Each pool's labelled photos are taken in a seeded order (a hash of seed and stem, so a pool that
gains labels keeps its earlier picks' order), skipping the photos `--exclude` holds out already,
up to `--per-pool`. These photos may have been trained on (every pool photo outside stage 20's
split is): the split compares inference variants of one network, it does not score the network.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np

from bgremove.inference.zoom import zoom_box


def is_small(label: np.ndarray, max_area: float, min_coverage: float) -> bool:
    """HW float32 label in [0, 1]: an object that covers at least `min_coverage` of the frame
    and whose zoom crop covers at most `max_area` of it."""
    if float((label >= 0.5).mean()) < min_coverage:
        return False
    return zoom_box(label, max_area) is not None


def seeded_order(stems: list[str], seed: int) -> list[str]:
    return sorted(stems, key=lambda s: hashlib.sha1(f"{seed}:{s}".encode()).hexdigest())


def pick(folder: Path, count: int, exclude: set[str], max_area: float, min_coverage: float,
         seed: int) -> tuple[list[str], int]:
    """(up to `count` small-object stems of `folder`, how many labelled photos were looked at)."""
    from bgremove.modeltools.evaluate import read_mask

    masks = {p.stem: p for p in (folder / "masks").glob("*.png")}
    chosen: list[str] = []
    seen = 0
    for stem in seeded_order([s for s in masks if s not in exclude], seed):
        if len(chosen) == count:
            break
        seen += 1
        if is_small(read_mask(masks[stem]), max_area, min_coverage):
            chosen.append(stem)
    return sorted(chosen), seen


def main(argv: list[str] | None = None) -> int:
    from train.data import resolve_dir
    from train.label_teacher import selection_stems
    from train.sets import write_selection
    from train.train import DEFAULTS

    ap = argparse.ArgumentParser(prog="python -m train.small_split", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="+", help="pool folders with images/ and masks/ "
                    "(relative ones under --data-root or the checkout)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--exclude", type=Path, help="a selection file whose photos are left out "
                    "(matched by pool: the folder's last name)")
    ap.add_argument("--per-pool", type=int, default=60)
    ap.add_argument("--max-area", type=float, default=0.5,
                    help="largest share of the frame the label's zoom crop may cover")
    ap.add_argument("--min-coverage", type=float, default=0.005)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-root", default=DEFAULTS["data_root"][0])
    args = ap.parse_args(argv)
    # By pool name: a split names its photos' label folder, which another teacher's labels rename.
    held = selection_stems(args.exclude) if args.exclude else {}
    chosen: dict[str, list[str]] = {}
    for name in args.folders:
        folder = resolve_dir(name, args.data_root)
        stems, seen = pick(folder, args.per_pool, held.get(folder.name, set()),
                           args.max_area, args.min_coverage, args.seed)
        print(f"{name}: {len(stems)} small objects among the first {seen} labelled photos")
        if stems:
            chosen[str(folder)] = stems
    write_selection(args.out, chosen, args.data_root)
    print(f"wrote {args.out}: {sum(map(len, chosen.values()))} photos")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
