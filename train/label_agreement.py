"""How closely two label caches agree, pool by pool (no val/ photo is read).

    python -m train.label_agreement cache/labels/u2net cache/labels/u2net-int8

Swapping a teacher (U-2-Net fp32 for its int8 copy, or for ISNet) changes every pool's labels at
once; the val sets' ground truth says whether the new teacher is as good on photos like val's, this
says how much of each pool's labels moved. Per pool present in both caches, over the masks both
hold: mask IoU at 0.5 and MAE of the soft masks (bgremove.modeltools.metrics conventions, the
first cache taken as the reference), their means and medians, and how many masks disagree badly
(IoU under 0.5), split by whether the reference mask is near-empty (under 2% of the frame, where a
few pixels decide the IoU) or not.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from bgremove.modeltools.evaluate import read_mask
from bgremove.modeltools.metrics import region_metrics

_NEAR_EMPTY = 0.02  # reference foreground under this share of the frame: IoU is a few pixels' say
_BAD = 0.5  # mask IoU under this: the two labels teach different objects


@dataclass(frozen=True)
class PoolAgreement:
    pool: str
    n: int
    iou_mean: float
    iou_median: float
    mae_mean: float
    bad_near_empty: int
    bad_other: int


def pair_metrics(reference: np.ndarray, other: np.ndarray) -> tuple[float, float, float]:
    """(IoU, MAE, reference coverage) of two soft masks; `other` is resized to the reference."""
    if other.shape != reference.shape:
        other = cv2.resize(other, reference.shape[::-1], interpolation=cv2.INTER_LINEAR)
    row = region_metrics(other, reference)
    return row["iou"], row["mae"], float(np.mean(reference >= 0.5))


def pool_agreement(pool: str, ref_masks: Path, other_masks: Path) -> PoolAgreement | None:
    names = sorted({p.name for p in ref_masks.glob("*.png")} & {p.name for p in other_masks.glob("*.png")})
    if not names:
        return None
    rows = [pair_metrics(read_mask(ref_masks / n), read_mask(other_masks / n)) for n in names]
    ious, maes, cover = (np.array(col) for col in zip(*rows, strict=True))
    bad = ious < _BAD
    return PoolAgreement(
        pool=pool, n=len(names), iou_mean=float(ious.mean()), iou_median=float(np.median(ious)),
        mae_mean=float(maes.mean()), bad_near_empty=int(np.sum(bad & (cover < _NEAR_EMPTY))),
        bad_other=int(np.sum(bad & (cover >= _NEAR_EMPTY))),
    )


def cache_agreement(reference: Path, other: Path) -> list[PoolAgreement]:
    """One row per pool folder (holding `masks/`) present in both caches, by name."""
    rows = []
    for pool_dir in sorted(p for p in reference.iterdir() if (p / "masks").is_dir()):
        other_masks = other / pool_dir.name / "masks"
        if other_masks.is_dir():
            row = pool_agreement(pool_dir.name, pool_dir / "masks", other_masks)
            if row is not None:
                rows.append(row)
    return rows


def format_rows(rows: list[PoolAgreement]) -> str:
    lines = ["| pool | masks | IoU mean / median | mean abs diff | IoU < 0.5 (near-empty / other) |",
             "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.pool} | {r.n} | {r.iou_mean:.3f} / {r.iou_median:.3f} | "
                     f"{r.mae_mean:.4f} | {r.bad_near_empty} / {r.bad_other} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", type=Path, help="label cache taken as the reference")
    parser.add_argument("other", type=Path, help="label cache compared with it")
    args = parser.parse_args(argv)
    rows = cache_agreement(args.reference, args.other)
    if not rows:
        raise SystemExit(f"no pool holds masks in both {args.reference} and {args.other}")
    print(format_rows(rows))


if __name__ == "__main__":
    main()
