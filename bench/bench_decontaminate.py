"""Decontamination on photos composited from a known foreground: edge colour error and time.

    python bench/bench_decontaminate.py                          # this checkout's foreground.py
    python bench/bench_decontaminate.py --baseline OLD/bgremove/imaging/foreground.py   # side by side

Each case is a real photo from ../shared/data/val (the known foreground F) brought to catalog
size (1600x1200, and 4000x3000 with --big) and extended beyond its ground-truth mask with the
colour of the nearest object pixel (so F is defined on the whole edge), its alpha a the bundled
model's own soft mask of the photo (final_alpha, as a run writes it), and a photo from
../shared/data/backgrounds as the new background B. The input is the composite
I = a F + (1 - a) B, rounded to 8 bits; a perfect decontamination gives back F on the edge.
Printed per implementation: the colour error on the edge (bgremove.modeltools.metrics.edge_colour_error:
mean and alpha-weighted, grey levels) and the median CPU time of decontaminate(I, a) with one
OpenCV thread (CPU time, not wall time: on a shared machine it is what the call itself costs);
the first line is no decontamination at all (the cutout keeps I's colours). Implementations
alternate image by image, so noise hits them alike.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CACHE = ROOT / "cache" / "decontaminate"
SETS = ("viton-cloth", "ccp", "davis")


def cover(img: np.ndarray, w: int, h: int) -> np.ndarray:
    scale = max(w / img.shape[1], h / img.shape[0])
    big = cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)),
                     interpolation=cv2.INTER_CUBIC)
    y0, x0 = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
    return np.ascontiguousarray(big[y0 : y0 + h, x0 : x0 + w])


def extend_foreground(rgb: np.ndarray, obj: np.ndarray) -> np.ndarray:
    """The photo inside the object mask; outside it, each pixel takes the colour of the nearest
    object pixel: a foreground defined everywhere, as matting benchmarks' foregrounds are."""
    outside = (~obj).astype(np.uint8)
    _, labels = cv2.distanceTransformWithLabels(outside, cv2.DIST_L2, 5,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    inside = np.flatnonzero(outside.ravel() == 0)  # labels number the object pixels in scan order
    assert np.array_equal(labels.ravel()[inside], np.arange(1, len(inside) + 1))
    return rgb.reshape(-1, 3)[inside[labels.ravel() - 1]].reshape(rgb.shape)


def cases(per_set: int, size: tuple[int, int]) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(name, I, a8, F), cached under cache/decontaminate/ (the masks need the model)."""
    from bgremove.imaging.compose import final_alpha
    from bgremove.modeltools.evaluate import find_pairs, select_subset

    CACHE.mkdir(parents=True, exist_ok=True)
    backgrounds = sorted((DATA / "backgrounds").glob("*.jpg"))
    if not backgrounds:
        sys.exit(f"no backgrounds under {DATA}: ../shared/data not found")
    remover, out = None, []
    for s in SETS:
        for path, mask_path in select_subset(find_pairs(DATA / "val" / s), per_set):
            name = f"{s}-{path.stem}-{size[0]}x{size[1]}"
            f = CACHE / f"{name}.npz"
            if not f.exists():
                from bgremove.inference.remover import Remover

                remover = remover or Remover(device="cpu")
                photo = cover(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB), *size)
                obj = cover(cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE), *size) >= 128
                a8 = final_alpha(remover.mask(photo))
                fg = extend_foreground(photo, obj)
                bg_path = backgrounds[len(out) * 7 % len(backgrounds)]
                bg = cover(cv2.cvtColor(cv2.imread(str(bg_path)), cv2.COLOR_BGR2RGB), *size)
                a = a8[..., None].astype(np.float32) / 255.0
                comp = np.clip(fg * a + bg * (1.0 - a) + 0.5, 0, 255).astype(np.uint8)
                np.savez(f, comp=comp, a8=a8, fg=fg)
            d = np.load(f)
            out.append((name, d["comp"], d["a8"], d["fg"]))
    return out


def load_impl(path: str):
    spec = importlib.util.spec_from_file_location(f"impl_{abs(hash(path))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(impls: dict, data: list, repeat: int) -> dict[str, dict[str, list[float]]]:
    from bgremove.modeltools.metrics import edge_colour_error

    res = {k: {"mean": [], "visible": [], "ms": []} for k in ("none", *impls)}
    for _, comp, a8, fg in data:
        err = edge_colour_error(comp, fg, a8)
        res["none"]["mean"].append(err["mean"])
        res["none"]["visible"].append(err["visible"])
        for name, impl in impls.items():
            times = []
            for _ in range(repeat):
                t = time.process_time()
                est = impl.decontaminate(comp, a8)
                times.append((time.process_time() - t) * 1000)
            err = edge_colour_error(est, fg, a8)
            res[name]["mean"].append(err["mean"])
            res[name]["visible"].append(err["visible"])
            res[name]["ms"].append(statistics.median(times))
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-set", type=int, default=8, help="photos per val set")
    ap.add_argument("--repeat", type=int, default=3, help="timed calls per image")
    ap.add_argument("--big", action="store_true", help="4000x3000 instead of 1600x1200")
    ap.add_argument("--baseline", help="another foreground.py to compare with (e.g. main's)")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    size = (4000, 3000) if args.big else (1600, 1200)
    data = cases(args.per_set, size)
    from bgremove.imaging import foreground

    impls = {"this checkout": foreground}
    if args.baseline:
        impls = {"baseline": load_impl(args.baseline), **impls}
    res = measure(impls, data, args.repeat)
    print(f"{len(data)} composites at {size[0]}x{size[1]}, edge colour error in grey levels "
          f"(mean over images), median CPU ms per call")
    for name, r in res.items():
        ms = f"{statistics.median(r['ms']):7.1f} ms" if r["ms"] else "      -   "
        print(f"  {name:<14} error {np.mean(r['mean']):6.2f}  alpha-weighted "
              f"{np.mean(r['visible']):6.2f}  {ms}")


if __name__ == "__main__":
    main()
