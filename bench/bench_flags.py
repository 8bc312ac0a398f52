"""How well the report's `uncertain_mask` flag picks out bad masks, on labelled validation sets.

    python bench/bench_flags.py                      # val/davis and val/ccp, bundled weights
    python bench/bench_flags.py --sets viton-cloth   # 1000 garment shots (a few minutes)
    python bench/bench_flags.py --faint 0.0016       # also the criterion not adopted: a faint
                                                     # region apart from the object, >= this share

For every frame: the mask of the bundled model (Remover.mask, as `bgremove run` computes it),
its IoU against the ground truth (alpha > 0.5 vs mask > 127), and the flags of
flags.mask_quality. Printed per set: how many of the 10% lowest-IoU frames the flag catches,
how many frames with IoU < 0.5 it catches, and how many good frames it flags (IoU >= 0.8 on
davis, whose median is ~0.74; >= 0.9 on the product sets).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "val"
GOOD = {"davis": 0.8}


def faint_share(alpha: np.ndarray) -> float:
    """Share of the image (on mask_quality's ~256 px view) in regions of alpha > 0.1 that never
    reach 0.5: a large faint region not connected to the object."""
    import cv2

    view = alpha[:: max(1, max(alpha.shape) // 256), :: max(1, max(alpha.shape) // 256)]
    n, labels, stats, _ = cv2.connectedComponentsWithStats((view > 0.1).astype(np.uint8), 8)
    faint = sum(stats[i, cv2.CC_STAT_AREA] for i in range(1, n) if view[labels == i].max() <= 0.5)
    return faint / view.size


def _frames(name: str, remover, faint: float | None) -> list[tuple[float, list[str]]]:
    from bgremove.batch.flags import mask_quality
    from bgremove.modeltools.evaluate import find_pairs

    out = []
    for image, mask in find_pairs(DATA / name):
        alpha = remover.mask(str(image))
        truth = np.asarray(Image.open(mask).convert("L")) > 127
        pred = alpha > 0.5
        union = (pred | truth).sum()
        iou = float((pred & truth).sum() / union) if union else 1.0
        flags = mask_quality(alpha)[1]
        if faint is not None and faint_share(alpha) >= faint:
            flags.append("faint_region")
        out.append((iou, flags))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=["davis", "ccp"])
    ap.add_argument("--flag", default="uncertain_mask")
    ap.add_argument("--faint", type=float, default=None)
    args = ap.parse_args()
    from bgremove.inference.remover import Remover

    remover = Remover(threads=1)
    for name in args.sets:
        if not (DATA / name).is_dir():
            print(f"{name}: {DATA / name} not found, skipped")
            continue
        frames = _frames(name, remover, args.faint)
        iou = np.array([f[0] for f in frames])
        flag = "faint_region" if args.faint is not None else args.flag
        flagged = np.array([flag in f[1] for f in frames])
        worst = np.zeros(len(frames), bool)
        worst[np.argsort(iou, kind="stable")[: max(1, len(frames) // 10)]] = True
        good = iou >= GOOD.get(name, 0.9)
        bad = iou < 0.5
        print(f"{name}: {len(frames)} frames, median IoU {np.median(iou):.3f}; {flag} on "
              f"{flagged.sum()}: {(flagged & worst).sum()} of the {worst.sum()} lowest-IoU "
              f"(<= {iou[worst].max():.3f}), {(flagged & bad).sum()} of {bad.sum()} with "
              f"IoU < 0.5, {(flagged & good).sum()} of {good.sum()} good "
              f"(IoU >= {GOOD.get(name, 0.9)})")


if __name__ == "__main__":
    main()
