"""What each mask pool teaches, measured on its masks alone (no val/ photo is read).

    python -m train.pool_stats cache/labels/u2net/caltech101 cache/labels/u2net/grocery \
        ../shared/data/train/ccp --limit 600

Stages 8 and 8b, trained with the teacher-labelled pools, kept more extra foreground than stage 5
on general scenes. These figures say which pools push that way before any training: a pool whose
labels often fill a side of the frame (tightly cropped photos), split into several parts (shelves
of items) or stay unsure teaches "more is foreground" unlike the cutout-like ground truth of the
photo sets. Per pool, over masks resized to 160 x 160 (area averaging):

- coverage: mean fraction of pixels above 0.5;
- parts: fraction of masks with two or more parts of at least 1% of the frame each;
- unsure: mean fraction of pixels between 0.1 and 0.9;
- side: fraction of masks whose foreground covers more than 30% of some image side.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

_SIZE = 160  # enough to count parts and sides; keeps a 600-mask pool to a few seconds
_PART = 0.01  # a part smaller than this share of the frame is a speck, not an object
_SIDE = 0.3  # foreground over this share of an image side: the object is cut by the frame


@dataclass(frozen=True)
class MaskStats:
    coverage: float
    parts: int
    unsure: float
    side: bool


def mask_stats(alpha: np.ndarray) -> MaskStats:
    """The four measures of one HW mask (uint8 0-255 or float in [0, 1])."""
    a = alpha.astype(np.float32) / (255.0 if alpha.dtype == np.uint8 else 1.0)
    a = cv2.resize(a, (_SIZE, _SIZE), interpolation=cv2.INTER_AREA)
    fg = (a > 0.5).astype(np.uint8)
    _, _, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    parts = int((stats[1:, cv2.CC_STAT_AREA] >= _PART * fg.size).sum())
    sides = (fg[0].mean(), fg[-1].mean(), fg[:, 0].mean(), fg[:, -1].mean())
    return MaskStats(float(fg.mean()), parts, float(((a > 0.1) & (a < 0.9)).mean()),
                     bool(max(sides) > _SIDE))


def pool_stats(masks: list[Path]) -> dict[str, float]:
    """Mean coverage, share with 2+ parts, mean unsure share, share touching a side."""
    stats = [mask_stats(a) for a in (cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in masks)
             if a is not None]
    if not stats:
        raise SystemExit(f"no readable masks among {len(masks)} files")
    n = len(stats)
    return {"n": n, "coverage": sum(s.coverage for s in stats) / n,
            "parts": sum(s.parts >= 2 for s in stats) / n,
            "unsure": sum(s.unsure for s in stats) / n, "side": sum(s.side for s in stats) / n}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pools", nargs="+", type=Path, help="folders with a masks/ subfolder")
    ap.add_argument("--limit", type=int, default=600, help="masks per pool (sorted by name)")
    args = ap.parse_args(argv)
    print(f"{'pool':40s} {'n':>5s} {'coverage':>9s} {'parts>=2':>9s} {'unsure':>9s} "
          f"{'side>30%':>9s}")
    for pool in args.pools:
        s = pool_stats(sorted((pool / "masks").glob("*.png"))[: args.limit])
        print(f"{str(pool)[-40:]:40s} {s['n']:5d} {s['coverage']:9.3f} {s['parts']:9.3f} "
              f"{s['unsure']:9.3f} {s['side']:9.3f}")


if __name__ == "__main__":
    main()
