"""Write pre-resized copies of the training folders so workers decode small files.

    python -m train.prepare_cache --config train/configs/stage1.py [--long-side 384]

A 550x825 CCP JPEG takes several times longer to decode than a 256x384 one, and on 2 cores the
data workers share the CPU with the training step. Images whose long side exceeds `long_side`
are resized (INTER_AREA) and stored as JPEG q95 (masks as PNG, resized with INTER_AREA, so their
edges become soft values rather than aliased steps); smaller ones are symlinked. JPEG rather than
a raw npy memmap: ~20k images at 384 px would be ~6 GB raw versus a few hundred MB, and decoding
a 384 px JPEG costs about 1-2 ms. Each folder gets a `.complete` marker when done; training uses
the cache only for folders that have one, and a rerun skips files already written.
"""

from __future__ import annotations

import argparse
import os
from multiprocessing import Pool
from pathlib import Path

import cv2

from train.config import load_config_file
from train.data import COMPLETE, cache_slug, folder_items, parse_set, resolve_dir

JPEG_QUALITY = 95


def fit_long_side(img, long_side: int):
    h, w = img.shape[:2]
    scale = long_side / max(h, w)
    if scale >= 1:
        return None
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


def cache_file(src: Path, dst: Path, long_side: int, is_mask: bool) -> None:
    if dst.exists() or dst.is_symlink():
        return
    flag = cv2.IMREAD_GRAYSCALE if is_mask else cv2.IMREAD_COLOR
    img = cv2.imread(str(src), flag)
    small = None if img is None else fit_long_side(img, long_side)
    tmp = dst.with_name(f".{dst.name}.tmp{dst.suffix}")
    if small is None:  # already small (or unreadable: let training report it on the original)
        os.symlink(src.resolve(), tmp)
    else:
        params = [] if is_mask else [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
        cv2.imwrite(str(tmp), small, params)
    os.replace(tmp, dst)


def _job(args: tuple) -> None:
    cv2.setNumThreads(1)
    cache_file(*args)


def cache_folder(directory: Path, root: Path, long_side: int, workers: int) -> Path:
    """Cache one pair folder (images/ + masks/) or plain image folder under root/<slug>."""
    out = root / cache_slug(directory)
    if (out / COMPLETE).exists():
        return out
    jobs = []
    for image, mask in folder_items(directory):
        if mask is None:
            jobs.append((image, out / f"{image.stem}.jpg", long_side, False))
        else:
            jobs.append((image, out / "images" / f"{image.stem}.jpg", long_side, False))
            jobs.append((mask, out / "masks" / f"{mask.stem}.png", long_side, True))
    for sub in {j[1].parent for j in jobs}:
        sub.mkdir(parents=True, exist_ok=True)
    if workers > 1:
        with Pool(workers) as pool:
            pool.map(_job, jobs, chunksize=64)
    else:
        for job in jobs:
            _job(job)
    (out / COMPLETE).write_text(f"{directory}\n")
    return out


def config_dirs(cfg: dict) -> list[str]:
    specs = [*cfg["train_sets"], *cfg["extra_sets"], *cfg["copypaste_donors"],
             *cfg["copypaste_backgrounds"]]
    return list(dict.fromkeys(parse_set(s)[0] for s in specs))


def main(argv: list[str] | None = None) -> int:
    from train.train import DEFAULTS

    p = argparse.ArgumentParser(prog="python -m train.prepare_cache", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="training config: cache every folder it trains on")
    p.add_argument("dirs", nargs="*", help="more folders (pair folders or plain image folders)")
    p.add_argument("--data-root", help="default: the config's data_root")
    p.add_argument("--cache-dir", help="default: the config's cache_dir")
    p.add_argument("--long-side", type=int, help="default: the config's cache_long_side")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    args = p.parse_args(argv)
    cfg = {k: v for k, (v, _) in DEFAULTS.items()}
    if args.config:
        cfg.update(load_config_file(args.config, DEFAULTS))
    long_side = args.long_side or cfg["cache_long_side"]
    root = Path(args.cache_dir or cfg["cache_dir"] or "cache") / str(long_side)
    dirs = [*(config_dirs(cfg) if args.config else []), *args.dirs]
    for d in dirs:
        directory = resolve_dir(d, args.data_root or cfg["data_root"])
        out = cache_folder(directory, root, long_side, args.workers)
        print(f"{directory} -> {out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
