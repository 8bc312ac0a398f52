"""Time and peak memory of the inference core on 2, 12 and 48 MP images; tiled vs direct agreement.

    python bench/bench_tiling.py                      # bundled weights
    python bench/bench_tiling.py --weights w.onnx --image photo.jpg [--gt photo_mask.png]
    python bench/bench_tiling.py --fake               # no weights: a per-pixel stand-in model
    python bench/bench_tiling.py --weights .peers/u2net/u2netp.onnx --preset u2netp --batch-size 1

Each (size, TTA) cell runs in a fresh subprocess, so its peak RSS (ru_maxrss) is its own: reading
the JPEG, loading the model, predicting the mask and encoding a PNG cutout. Inputs are generated
product shots, or --image resized to each size. Then, on one image small enough for a direct pass
at full resolution (--agree-side), the tiled mask is compared with that direct pass (IoU at 0.5,
mean abs difference), and the seam check compares the tiled-vs-direct error on tile borders with
the error inside tiles (a ratio near 1 means the blend hides the borders).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

SIZES_MP = (2, 12, 48)


def make_input(mp: float, out: Path, image: str | None) -> tuple[int, int]:
    """A JPEG of about `mp` megapixels at 4:3; generated at low resolution and upscaled so the
    parent never holds large float arrays either."""
    w = int(round((mp * 1e6 * 4 / 3) ** 0.5))
    h = int(round(w * 3 / 4))
    if image:
        src = cv2.imread(image, cv2.IMREAD_COLOR)
        if src is None:
            sys.exit(f"cannot read {image}")
        big = cv2.resize(src, (w, h), interpolation=cv2.INTER_CUBIC)
    else:
        small = _scene(600, 800)
        big = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
        big = cv2.add(big, np.random.default_rng(0).integers(0, 4, big.shape, np.uint8))
    cv2.imwrite(str(out), big, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return h, w


def _scene(h: int, w: int) -> np.ndarray:
    """BGR product shot: a shoe-like blob and a strap on a light grey studio background."""
    img = np.full((h, w, 3), 242, np.uint8)
    cv2.ellipse(img, (w // 2, h // 2 + 40), (w // 4, h // 6), 0, 0, 360, (40, 60, 170), -1)
    cv2.ellipse(img, (w // 2 - 60, h // 2 - 40), (w // 9, h // 6), -20, 0, 360, (30, 40, 120), -1)
    cv2.line(img, (w // 2 - 120, h // 2 - 150), (w // 2 + 160, h // 2 - 60), (20, 20, 20), 4)
    return cv2.GaussianBlur(img, (0, 0), 1.2)


def _remover(args, tta: bool):
    from bgremove.inference.remover import Remover

    if args.fake:
        return Remover(backend=_FakeBackend(), tta=tta)
    return Remover(args.weights, threads=args.threads, tta=tta, preset=args.preset,
                   batch_size=args.batch_size)


class _FakeBackend:
    """Colour distance from white, blurred and saturated like a trained model's output (so
    masks are 0 or 1 away from edges, as the encoding and decontamination timings assume)."""

    name = "fake"

    def __init__(self) -> None:
        from bgremove.inference.preprocess import Preprocessing

        self.preprocessing = Preprocessing(input_size=320, multiple=32)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        pre = self.preprocessing
        rgb = batch * np.asarray(pre.std, np.float32)[None, :, None, None]
        rgb += np.asarray(pre.mean, np.float32)[None, :, None, None]
        dist = np.sqrt(np.square(1.0 - rgb).mean(axis=1))
        out = [cv2.GaussianBlur(d, (0, 0), 1.0) for d in dist]
        return (30.0 * (np.stack(out)[:, None] - 0.25)).astype(np.float32)


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def child(args) -> None:
    """One measurement; prints a JSON line."""
    from bgremove.imaging.outputs import OutputOptions

    t0 = time.perf_counter()
    remover = _remover(args, bool(args.tta))
    t1 = time.perf_counter()
    rss_loaded = _rss_mb()
    image = remover.load(args.child)
    t2 = time.perf_counter()
    alpha = remover.mask(image)
    t3 = time.perf_counter()
    remover_out = remover  # keep the model alive through encoding, as a real run does
    from bgremove.imaging.compose import render_outputs

    data = render_outputs(image.rgb, alpha, OutputOptions(), image.icc_profile)
    t4 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(dict(load=t1 - t0, read=t2 - t1, mask=t3 - t2, render=t4 - t3,
                          rss_loaded=rss_loaded, peak=peak, png_mb=len(data["cutout"]) / 2**20,
                          name=remover_out.name)))


def measure(args, path: Path, tta: bool) -> dict:
    cmd = [sys.executable, __file__, "--child", str(path), "--tta", str(int(tta))]
    cmd += ["--fake"] if args.fake else []
    cmd += ["--weights", args.weights] if args.weights else []
    cmd += ["--threads", str(args.threads)] if args.threads else []
    cmd += ["--preset", args.preset] if args.preset else []
    cmd += ["--batch-size", str(args.batch_size)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def agreement(args) -> None:
    from bgremove.inference.remover import backend_predictor
    from bgremove.inference.tiling import TileConfig, predict_mask

    side = args.agree_side
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "agree.jpg"
        make_input(side * side * 3 / 4 / 1e6, path, args.image)
        remover = _remover(args, False)
        image = remover.load(path)
    pre = remover.preprocessing
    predict = backend_predictor(remover.backend, args.batch_size)
    t = time.perf_counter()
    direct = predict([image.rgb])[0]
    t_direct = time.perf_counter() - t
    t = time.perf_counter()
    tiled = remover.mask(image)
    t_tiled = time.perf_counter() - t
    global_only = predict_mask(predict, image.rgb, pre.input_size, pre.multiple,
                               TileConfig(threshold=1e9))
    h, w = image.rgb.shape[:2]
    note = " (square model: its 'direct' pass is the global pass)" if pre.square else ""
    print(f"\nagreement on {w}x{h}: direct pass {t_direct:.2f}s, tiled {t_tiled:.2f}s{note}")
    for name, m in (("tiled", tiled), ("global only", global_only)):
        print(f"  {name:12s} vs direct: IoU {_iou(m, direct):.4f}  "
              f"mean |diff| {np.abs(m - direct).mean():.4f}")
    if args.gt:
        gt = cv2.resize(cv2.imread(args.gt, cv2.IMREAD_GRAYSCALE), (w, h)) / 255.0
        for name, m in (("direct", direct), ("tiled", tiled), ("global only", global_only)):
            print(f"  {name:12s} vs ground truth: IoU {_iou(m, gt):.4f}")
    seams(remover, predict, image.rgb)


def seams(remover, predict, rgb: np.ndarray) -> None:
    """Tile the whole image at the working resolution (no band, no gate) and compare pixel-to-
    pixel steps on the lines where a tile starts or ends with the steps everywhere else."""
    from bgremove.inference.tiling import predict_tiled, tile_grid, working_size

    pre, cfg = remover.preprocessing, remover.tiles
    wh, ww = working_size(*rgb.shape[:2], pre.input_size, cfg)
    work = cv2.resize(rgb, (ww, wh), interpolation=cv2.INTER_AREA)
    tile = -(-(cfg.tile_size or pre.input_size) // pre.multiple) * pre.multiple
    tiled, _ = predict_tiled(predict, work, tile, cfg.overlap, pre.multiple)
    corners = tile_grid(wh, ww, tile, cfg.overlap, pre.multiple)
    cols = sorted({c for _, x in corners for c in (x, x + tile) if 0 < c < ww})
    rows = sorted({r for y, _ in corners for r in (y, y + tile) if 0 < r < wh})
    # A seam is a step larger than the steps beside it: spike = |step| - mean of neighbours'.
    sx, sy = _spikes(np.abs(np.diff(tiled, axis=1))), _spikes(np.abs(np.diff(tiled, axis=0)).T)
    on_x, on_y = np.zeros(sx.shape[1], bool), np.zeros(sy.shape[1], bool)
    on_x[[c - 2 for c in cols if 2 <= c < ww - 1]] = True
    on_y[[r - 2 for r in rows if 2 <= r < wh - 1]] = True
    border = np.concatenate([sx[:, on_x].ravel(), sy[:, on_y].ravel()])
    inside = np.concatenate([sx[:, ~on_x].ravel(), sy[:, ~on_y].ravel()])
    print(f"  seams at {ww}x{wh}, {len(corners)} tiles: step spikes on tile borders mean "
          f"{border.mean():.5f} max {border.max():.4f}; elsewhere mean {inside.mean():.5f} "
          f"max {inside.max():.4f} (no seams: border figures no larger than elsewhere)")
    if not pre.square:
        err = np.abs(tiled - predict([work])[0])
        print(f"  tiled vs direct at {ww}x{wh}: mean |diff| {err.mean():.4f} "
              f"max {err.max():.4f}")


def _spikes(steps: np.ndarray) -> np.ndarray:
    """Per step column j (1..n-2): how much it exceeds the mean of columns j-1 and j+1, >= 0."""
    return np.maximum(steps[:, 1:-1] - 0.5 * (steps[:, :-2] + steps[:, 2:]), 0.0)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(((a > 0.5) & (b > 0.5)).sum() / max(1, ((a > 0.5) | (b > 0.5)).sum()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default=None, help="weights file; default: the bundled ones")
    ap.add_argument("--fake", action="store_true", help="a per-pixel stand-in model, no weights")
    ap.add_argument("--image", default=None, help="a real photo, resized, instead of generated")
    ap.add_argument("--gt", default=None, help="ground-truth mask of --image for the agreement")
    ap.add_argument("--sizes", type=float, nargs="+", default=list(SIZES_MP), help="megapixels")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--preset", default=None, help="for foreign models, e.g. u2netp")
    ap.add_argument("--batch-size", type=int, default=4, help="tiles per model call")
    ap.add_argument("--no-tta", action="store_true", help="skip the TTA rows")
    ap.add_argument("--agree-side", type=int, default=2048, help="long side of the agreement image")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--tta", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    print(f"{'MP':>5} {'size':>11} {'tta':>3} {'load s':>7} {'read s':>7} {'mask s':>7} "
          f"{'png s':>6} {'RSS loaded MB':>13} {'peak RSS MB':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for mp in args.sizes:
            path = Path(tmp) / f"in_{mp:g}mp.jpg"
            h, w = make_input(mp, path, args.image)
            for tta in (False,) if args.no_tta else (False, True):
                r = measure(args, path, tta)
                if "error" in r:
                    print(f"{mp:5g} {w:>5}x{h:<5} {int(tta):>3} error: {r['error']}")
                    continue
                print(f"{mp:5g} {w:>5}x{h:<5} {int(tta):>3} {r['load']:7.2f} {r['read']:7.2f} "
                      f"{r['mask']:7.2f} {r['render']:6.2f} {r['rss_loaded']:13.0f} "
                      f"{r['peak']:11.0f}")
    agreement(args)


if __name__ == "__main__":
    main()
