"""Mask quality and CPU time of tiled-refinement settings on large photos with known masks.

    python bench/bench_refine_quality.py                        # 20 photos per set, bundled weights
    python bench/bench_refine_quality.py --n 40 --sets ccp,davis,viton-cloth --weights W.onnx
    python bench/bench_refine_quality.py --settings default,--mirror   # the mirror on large photos

No val photo is catalog-sized, so each is centre-cropped to 4:3 and upscaled (bicubic) to
4000x3000, the size bgremove refines (a 1600x1200 photo is not: TileConfig.threshold). Each
setting predicts the 4000x3000 mask; it is brought back to the crop's own size (area average)
and scored against the crop of the ground truth: IoU, MAE, boundary F (bgremove.modeltools.metrics).
Time is the CPU time of Remover.mask with one thread, median over photos. All settings share
one model session and see the same photos in turn.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "val"

SETTINGS = {  # name -> TileConfig keyword arguments
    "default": {},
    "2x (before)": {"max_scale": 2.0},
    "1.5x one pass": {"max_scale": 1.5, "tile_size": 768},
    "2x one pass": {"max_scale": 2.0, "tile_size": 768},
    "no refinement": {"threshold": 1000.0},
    "--mirror": {},  # the default tiles, with the mirror for busy scenes (REMOVER_KWARGS)
}
REMOVER_KWARGS = {"--mirror": {"mirror_busy": None}}  # name -> Remover keyword arguments


def crop_43(img: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, w = gt.shape
    cw, ch = (h * 4 // 3, h) if w * 3 > h * 4 else (w, w * 3 // 4)
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    return img[y0 : y0 + ch, x0 : x0 + cw], gt[y0 : y0 + ch, x0 : x0 + cw]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20, help="photos per set (evenly spaced)")
    ap.add_argument("--sets", default="ccp,davis,viton-cloth")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated names")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    from bgremove.inference.backends import load_backend
    from bgremove.inference.remover import Remover
    from bgremove.inference.tiling import TileConfig
    from bgremove.modeltools.evaluate import find_pairs, read_mask, read_rgb
    from bgremove.modeltools.metrics import as_float_mask, boundary_metrics, region_metrics

    backend = load_backend(args.weights, device="cpu", threads=1)
    names = args.settings.split(",")
    removers = {k: Remover(backend=backend, tiles=TileConfig(**SETTINGS[k]),
                           **REMOVER_KWARGS.get(k, {})) for k in names}
    print(f"{'set':<12} {'setting':<16} {'IoU':>7} {'MAE':>7} {'bF':>7} {'CPU ms':>7}")
    for name in args.sets.split(","):
        pairs = find_pairs(DATA / name)
        pairs = pairs[:: max(1, len(pairs) // args.n)][: args.n]
        rows: dict[str, list[tuple[float, ...]]] = {k: [] for k in names}
        for image, mask in pairs:
            img, gt = crop_43(read_rgb(image), as_float_mask(read_mask(mask)))
            big = cv2.resize(img, (4000, 3000), interpolation=cv2.INTER_CUBIC)
            for k, remover in removers.items():
                t = time.process_time()
                pred = remover.mask(big)
                ms = (time.process_time() - t) * 1000
                pred = cv2.resize(pred, gt.shape[::-1], interpolation=cv2.INTER_AREA)
                r, b = region_metrics(pred, gt), boundary_metrics(pred, gt)
                rows[k].append((r["iou"], r["mae"], b["boundary_f"], ms))
        for k in names:
            a = np.array(rows[k])
            print(f"{name:<12} {k:<16} {a[:, 0].mean():7.4f} {a[:, 1].mean():7.4f} "
                  f"{a[:, 2].mean():7.4f} {statistics.median(a[:, 3]):7.0f}  (n={len(a)})",
                  flush=True)


if __name__ == "__main__":
    main()
