"""Pack a run's training folders into a small tree that travels to a lent accelerator.

    python -m train.pack --config train/configs/gpu_long.py --selection runs/split/selection.json \\
        --leave-out train/selections/small.json train/selections/small-fresh.json \\
        --cap train/viton-cloth:2500 --cap train/viton-person:700 --out cache/pack --parts 4

The device machine takes at most 64 MiB of working tree per call and keeps what earlier calls
brought while it stays warm, so the pack is written once here and cut into parts that arrive in
successive calls. Every folder the config trains or pastes from is copied under the same
relative name (train with `--data-root` pointing at the merged parts, `--cache-dir ''`), photos
at `long_side` (JPEG) and masks as PNG, both resized with INTER_AREA as prepare_cache does.

Held-out selection photos always travel (the run scores its split there as it would here);
`--cap` keeps a seeded share of a big folder; `--leave-out` drops the photos of other splits
(the small-object splits judge inference variants, so they must stay unseen by training).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
from pathlib import Path

import cv2

from train.config import FOLDER_LISTS, load_config_file
from train.data import folder_items, parse_set, resolve_dir
from train.prepare_cache import fit_long_side
from train.train import DEFAULTS

LONG_SIDE = 384  # the training cache's long side: input 320 x the largest zoom 1.25, rounded up
JPEG_QUALITY = 90  # below prepare_cache's 95: the pack is sized by what a call may carry


def config_folders(cfg: dict) -> list[str]:
    """Every folder the run reads, as the config names it (relative), each once."""
    names: list[str] = []
    for key in ("train_sets", *FOLDER_LISTS):
        for spec in cfg.get(key, []):
            name = parse_set(spec)[0]
            if name not in names:
                names.append(name)
    return names


def choose(items: list, keep: set[str], drop: set[str], cap: int, seed: int) -> list:
    """The held-out items, then a seeded `cap` of the rest (all when cap is 0), none in `drop`."""
    held = [it for it in items if it[0].stem in keep]
    rest = [it for it in items if it[0].stem not in keep and it[0].stem not in drop]
    if cap and len(rest) > cap:
        rest = random.Random(seed).sample(rest, cap)
    return held + sorted(rest, key=lambda it: it[0].stem)


def write_small(src: Path, dst: Path, flag: int, params: list[int], long_side: int) -> int:
    """src resized to `long_side` (if larger) and written to dst; returns its bytes (0: unreadable)."""
    img = cv2.imread(str(src), flag)
    if img is None:
        return 0
    small = fit_long_side(img, long_side)
    cv2.imwrite(str(dst), img if small is None else small, params)
    return dst.stat().st_size


def write_pair(image: Path, mask: Path | None, dst: Path, long_side: int) -> int:
    """One photo (and mask) resized into dst/images, dst/masks; returns the bytes written."""
    written = write_small(image, dst / "images" / f"{image.stem}.jpg", cv2.IMREAD_COLOR,
                          [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY], long_side)
    if written and mask is not None:
        written += write_small(mask, dst / "masks" / f"{image.stem}.png", cv2.IMREAD_GRAYSCALE,
                               [cv2.IMWRITE_PNG_COMPRESSION, 9], long_side)
    return written


def pack(cfg: dict, held: dict[str, set[str]], leave_out: dict[str, set[str]],
         caps: dict[str, int], out: Path, long_side: int = LONG_SIDE) -> dict[str, tuple[int, int]]:
    """Copy every folder of `cfg` under `out`, keeping `held`'s photos and dropping
    `leave_out`'s (both by pool name, as label_teacher.selection_stems reads a split);
    -> {folder: (photos, bytes)}."""
    report = {}
    for name in config_folders(cfg):
        src = resolve_dir(name, cfg["data_root"])
        pool = Path(name).name
        items = choose(folder_items(src), held.get(pool, set()), leave_out.get(pool, set()),
                       caps.get(name, 0), cfg["seed"])
        dst = out / name
        (dst / "images").mkdir(parents=True, exist_ok=True)
        (dst / "masks").mkdir(exist_ok=True)
        report[name] = (len(items), sum(write_pair(i, m, dst, long_side) for i, m in items))
        print(f"{name}: {report[name][0]} photos, {report[name][1] / 2**20:.1f} MiB", flush=True)
    return report


def split_parts(root: Path, parts: int) -> list[Path]:
    """Hard-link the pack into root/part1..N of about equal bytes (same relative paths), a
    photo and its mask always in one part, so each part travels in its own call, any prefix of
    the parts is a smaller pack that trains, and they merge by copying one over the other."""
    dirs = [root / f"part{k + 1}" for k in range(parts)]
    for f in (p for p in root.iterdir() if p.is_file()):  # selection.json: every part needs it
        for d in dirs:
            d.mkdir(exist_ok=True)
            if not (d / f.name).exists():
                os.link(f, d / f.name)
    units: list[list[Path]] = []
    for images in sorted(p for p in root.rglob("images") if not p.relative_to(root).parts[0]
                         .startswith("part")):
        for img in sorted(images.iterdir()):
            mask = images.parent / "masks" / f"{img.stem}.png"
            units.append([img, mask] if mask.exists() else [img])
    sizes = [0] * parts
    for unit in sorted(units, key=lambda u: -sum(f.stat().st_size for f in u)):
        k = sizes.index(min(sizes))
        for f in unit:
            dst = dirs[k] / f.relative_to(root)
            dst.parent.mkdir(parents=True, exist_ok=True)
            if not dst.exists():
                os.link(f, dst)
            sizes[k] += f.stat().st_size
    for d, s in zip(dirs, sizes, strict=True):
        print(f"{d}: {s / 2**20:.1f} MiB")
    return dirs


def main(argv: list[str] | None = None) -> int:
    from train.label_teacher import selection_stems

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--selection", required=True, help="the run's selection file (travels too)")
    ap.add_argument("--leave-out", nargs="*", default=[], help="selection files kept out")
    ap.add_argument("--cap", action="append", default=[], help="FOLDER:N photos at most")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--parts", type=int, default=1)
    ap.add_argument("--long-side", type=int, default=LONG_SIDE)
    args = ap.parse_args(argv)
    cfg = {k: v for k, (v, _) in DEFAULTS.items()} | load_config_file(args.config, DEFAULTS)
    leave_out: dict[str, set[str]] = {}
    for path in args.leave_out:
        for pool, stems in selection_stems(Path(path)).items():
            leave_out.setdefault(pool, set()).update(stems)
    caps = {name: int(n) for name, n in (c.rsplit(":", 1) for c in args.cap)}
    pack(cfg, selection_stems(Path(args.selection)), leave_out, caps, args.out, args.long_side)
    shutil.copyfile(args.selection, args.out / "selection.json")  # the run's split travels too
    if args.parts > 1:
        split_parts(args.out, args.parts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
