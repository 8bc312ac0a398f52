"""Mask quality of one weights file at several network input sizes (the long side in pixels).

    python bench/bench_resolution.py                        # 320, 416, 512 on val davis and ccp
    python bench/bench_resolution.py --sizes 320,384 --sets viton-cloth --limit 100

The network is fully convolutional, so a file trained at 320 px runs at any size that is a
multiple of its stride; this replaces the file's recorded input size (its preprocessing) and
scores the masks with `bgremove eval`'s own code (evaluate_dirs) on --limit images
of each set, evenly spaced. It measures whether a set's errors are a matter of pixels (people
in street photos) or of what the model learnt (clutter counted as foreground): a lead for the
training resolution, not a setting: the shipped file always runs at its own size.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VAL = ROOT.parent / "shared" / "data" / "val"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="320,416,512", help="input sizes, comma-separated")
    ap.add_argument("--sets", default="davis,ccp", help="val sets, comma-separated")
    ap.add_argument("--limit", type=int, default=100, help="images per set")
    ap.add_argument("--weights", default=None, help="weights file (default: the bundled)")
    args = ap.parse_args()

    from bgremove.inference.remover import Remover
    from bgremove.modeltools.evaluate import evaluate_dirs

    dirs = [VAL / s for s in args.sets.split(",")]
    missing = [str(d) for d in dirs if not d.is_dir()]
    if missing:
        raise SystemExit(f"not found: {', '.join(missing)} (../shared/data/val)")
    remover = Remover(args.weights, device="cpu", threads=1)
    own = remover.backend.preprocessing
    print(f"weights trained at {own.input_size} px; IoU / MAE / precision, "
          f"{args.limit} images per set, evenly spaced")
    for size in (int(s) for s in args.sizes.split(",")):
        remover.backend.preprocessing = dataclasses.replace(own, input_size=size)
        res = evaluate_dirs(remover.mask, dirs, limit=args.limit, progress=False)
        cells = [f"{name} {r['iou']:.4f} / {r['mae']:.4f} / {r['precision']:.3f}"
                 for name, r in res.items()]
        print(f"{size:5d}  " + "   ".join(cells), flush=True)


if __name__ == "__main__":
    main()
