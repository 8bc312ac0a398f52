"""Label unlabelled photos with a teacher model run through bgremove itself.

    python -m train.label_teacher IN_DIR OUT_DIR --weights .peers/u2net/u2net.onnx [--preset u2net]

Writes OUT_DIR/images/<stem>.<ext> (links to the originals) and OUT_DIR/masks/<stem>.png, the
layout train/ reads. A teacher is wrong often enough that its labels are filtered: masks that are
nearly empty, nearly full-frame, or mostly undecided (many pixels between 0.1 and 0.9) are left out
and listed in OUT_DIR/rejected.tsv with the reason, so a person can look at them.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

from bgremove.discover import is_image_name
from bgremove.io import encode_image, write_atomic

MIN_COVERAGE = 0.01  # below: the teacher found nothing
MAX_COVERAGE = 0.97  # above: the teacher kept the whole frame (scenes, textures)
MAX_UNDECIDED = 0.25  # share of the object's pixels the teacher is unsure about (soft U2-Net edges count)

_remover = None


def verdict(prob: np.ndarray, max_undecided: float = MAX_UNDECIDED) -> str:
    """'' for a usable label, else the reason to reject it."""
    coverage = float((prob > 0.5).mean())
    if coverage < MIN_COVERAGE:
        return f"empty ({coverage:.3f})"
    if coverage > MAX_COVERAGE:
        return f"full-frame ({coverage:.3f})"
    undecided = float(((prob > 0.1) & (prob < 0.9)).mean()) / max(coverage, 1e-6)
    if undecided > max_undecided:
        return f"undecided ({undecided:.3f})"
    return ""


def label_one(path: Path, out: Path, weights: str, preset: str | None,
              max_undecided: float = MAX_UNDECIDED) -> tuple[str, str]:
    global _remover
    if _remover is None:  # one model per worker process
        from bgremove.api import Remover

        _remover = Remover(weights, preset=preset, threads=1)
    prob = _remover.mask(path)
    reason = verdict(prob, max_undecided)
    if not reason:
        mask = (prob * 255.0 + 0.5).astype(np.uint8)
        write_atomic(out / "masks" / f"{path.stem}.png", encode_image(mask, "png"))
        link = out / "images" / path.name
        if not link.exists():
            os.symlink(path.resolve(), link)
    return path.name, reason


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument("--weights", required=True, help="teacher ONNX, e.g. rembg's u2net.onnx")
    ap.add_argument("--preset", default=None, help="default: from the file name")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--max-undecided", type=float, default=MAX_UNDECIDED,
                    help="reject labels whose unsure pixels exceed this share of the object")
    args = ap.parse_args()
    files = sorted(p for p in args.input.iterdir() if is_image_name(p.name))
    # Resumable: photos labelled by an earlier (interrupted) run are not labelled again.
    rejected_file = args.output / "rejected.tsv"
    seen = {line.split("\t")[0] for line in rejected_file.read_text().splitlines()} \
        if rejected_file.exists() else set()
    files = [p for p in files
             if p.name not in seen and not (args.output / "masks" / f"{p.stem}.png").exists()]
    for sub in ("images", "masks"):
        (args.output / sub).mkdir(parents=True, exist_ok=True)
    jobs = (delayed(label_one)(p, args.output, args.weights, args.preset, args.max_undecided) for p in files)
    results = Parallel(n_jobs=args.workers)(jobs)
    rejected = [(name, why) for name, why in results if why]
    with rejected_file.open("a") as fh:
        fh.writelines(f"{name}\t{why}\n" for name, why in rejected)
    print(f"labelled {len(files) - len(rejected)} of {len(files)}; rejected {len(rejected)} "
          f"(see {args.output / 'rejected.tsv'})")


if __name__ == "__main__":
    main()
