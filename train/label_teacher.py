"""Label unlabelled photos with teacher models run through bgremove itself.

    python -m train.label_teacher cache/photos/caltech101 ../shared/data/unlabeled/imagenet-1k \\
        --out cache/labels/isnet640 --teacher isnet=cache/teachers/isnet.onnx --size 640 --flip

For every pool folder it writes OUT/<pool>/images/<stem>.<ext> (links to the originals) and
OUT/<pool>/masks/<stem>.png, the layout train/ reads, plus OUT/<pool>/labels.tsv (coverage and
confidence of each label).

Labels stay soft (the teacher's probability, 0..255) and none is rejected: a photo the teacher
is unsure about still teaches where it is sure, because training weighs every pixel by the
label's confidence |2p - 1| (train/loss.py). Rejecting the undecided 27% instead biased the old
set towards easy, large objects.

Several `--teacher NAME=ONNX[:WEIGHT]` are averaged with those weights. Photos are labelled
interleaved across pools in a seeded order, so a run stopped early has labelled every pool in
proportion; a rerun labels only what is missing (the labels are a cache, not commits).

`--zoom AREA` gives each teacher bgremove's second look at small objects (inference/zoom.py):
U-2-Net sees a photo at 320 px too, and labels a small object as a blob. Chosen on val's ground
truth like the teacher itself: the int8 U-2-Net on val/davis 0.7890 -> 0.7971 with AREA 0.7,
val/ccp 0.9583 either way (weights/MODEL_CARD.md, "The small-object split"). `--only SELECTION`
labels just the photos a selection file holds (a split's labels, before the pools').
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

from bgremove.imaging.encode import encode_image
from bgremove.imaging.formats import is_image_name
from bgremove.imaging.safewrite import write_atomic

PRESETS = {"isnet": "isnet", "u2net": "u2net", "u2net-int8": "u2net", "u2netp": "u2netp"}  # name -> preset
_removers: list | None = None


@dataclasses.dataclass(frozen=True)
class Teacher:
    name: str
    weights: str
    weight: float = 1.0


def parse_teacher(spec: str) -> Teacher:
    """'isnet=cache/teachers/isnet.onnx' or 'u2net=.peers/u2net/u2net.onnx:0.3'."""
    name, _, path = spec.partition("=")
    head, sep, tail = path.rpartition(":")
    weight = 1.0
    if sep and tail.replace(".", "", 1).isdigit():
        path, weight = head, float(tail)
    if name not in PRESETS or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=ONNX[:WEIGHT] with NAME in {list(PRESETS)}")
    return Teacher(name, path, weight)


def label_stats(prob: np.ndarray) -> tuple[float, float]:
    """(coverage: share of pixels > 0.5, confidence: mean |2p - 1|, the mean loss weight)."""
    return float((prob > 0.5).mean()), float(np.abs(2.0 * prob - 1.0).mean())


def interleave(pools: dict[str, list[Path]], seed: int) -> Iterator[tuple[str, Path]]:
    """Each pool in its own seeded order, taken in turn in proportion to its size."""
    rng = np.random.default_rng(seed)
    orders = {name: [files[i] for i in rng.permutation(len(files))] for name, files in pools.items()}
    keyed = [((k + 0.5) / len(files), name, path)
             for name, files in orders.items() for k, path in enumerate(files)]
    for _, name, path in sorted(keyed, key=lambda t: (t[0], t[1])):
        yield name, path


def _load_removers(teachers: tuple[Teacher, ...], size: int, flip: bool, zoom: float) -> list:
    from bgremove.inference.remover import Remover

    removers = []
    for t in teachers:
        r = Remover(t.weights, preset=PRESETS[t.name], threads=1, tta=flip, zoom=zoom)
        if size:  # the teacher's input size (ISNet takes any multiple of 64)
            r.backend.preprocessing = dataclasses.replace(r.backend.preprocessing, input_size=size)
        removers.append(r)
    return removers


def label_one(path: Path, pool_out: Path, teachers: tuple[Teacher, ...], size: int,
              flip: bool, zoom: float = 0.0) -> tuple[str, float, float]:
    global _removers
    if _removers is None:  # one set of models per worker process
        _removers = _load_removers(teachers, size, flip, zoom)
    total = sum(t.weight for t in teachers)
    prob = sum(t.weight / total * r.mask(path) for t, r in zip(teachers, _removers, strict=True))
    mask = (np.clip(prob, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    write_atomic(pool_out / "masks" / f"{path.stem}.png", encode_image(mask, "png"))
    link = pool_out / "images" / path.name
    if not link.is_symlink() and not link.exists():
        os.symlink(path.resolve(), link)
    return path.stem, *label_stats(mask.astype(np.float32) / 255.0)


def todo(pools: dict[str, list[Path]], out: Path, seed: int,
         first: dict[str, set[str]] | None = None) -> list[tuple[str, Path]]:
    """The photos still unlabelled, in interleaved order; those `first` names (pool -> stems)
    ahead of the rest."""
    jobs = [(name, p) for name, p in interleave(pools, seed)
            if not (out / name / "masks" / f"{p.stem}.png").exists()]
    first = first or {}
    return sorted(jobs, key=lambda job: job[1].stem not in first.get(job[0], ()))  # stable


def selection_stems(path: Path) -> dict[str, set[str]]:
    """pool name -> the stems a selection file (train/selections/*.json) holds out of it."""
    fixed = json.loads(path.read_text())
    return {Path(folder).name: set(stems) for folder, stems in fixed.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.label_teacher", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pools", nargs="+", type=Path, help="folders of photos, one pool each")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--teacher", type=parse_teacher, action="append", required=True)
    ap.add_argument("--size", type=int, default=0, help="teacher input size (0: its preset's)")
    ap.add_argument("--flip", action="store_true", help="average with a mirrored pass (2x cost)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--chunk", type=int, default=200, help="photos per resumable chunk")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--first", type=Path, help="a selection file (train/selections/*.json) whose "
                    "held-out photos are labelled before the rest, so a run on the new labels can "
                    "score its split before the pools are done")
    ap.add_argument("--only", type=Path, help="a selection file: label only the photos it holds")
    ap.add_argument("--zoom", type=float, default=0.0, metavar="AREA",
                    help="a second look at small objects, as bgremove's (0: off; see the docstring)")
    args = ap.parse_args(argv)
    pools = {p.name: sorted(f for f in p.iterdir() if is_image_name(f.name)) for p in args.pools}
    if args.only:
        held = selection_stems(args.only)
        pools = {n: [f for f in files if f.stem in held.get(n, ())] for n, files in pools.items()}
    for name in pools:
        for sub in ("images", "masks"):
            (args.out / name / sub).mkdir(parents=True, exist_ok=True)
    jobs = todo(pools, args.out, args.seed, selection_stems(args.first) if args.first else None)
    print(f"{len(jobs)} of {sum(map(len, pools.values()))} photos to label", flush=True)
    teachers = tuple(args.teacher)
    with Parallel(n_jobs=args.workers) as parallel:
        for start in range(0, len(jobs), args.chunk):
            chunk = jobs[start:start + args.chunk]
            rows = parallel(delayed(label_one)(p, args.out / name, teachers, args.size, args.flip,
                                               args.zoom) for name, p in chunk)
            for (name, _), (stem, coverage, confidence) in zip(chunk, rows, strict=True):
                with (args.out / name / "labels.tsv").open("a") as fh:
                    fh.write(f"{stem}\t{coverage:.4f}\t{confidence:.4f}\n")
            print(f"labelled {start + len(chunk)}/{len(jobs)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
