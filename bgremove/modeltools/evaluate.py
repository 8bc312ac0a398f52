"""The library side of `bgremove eval`: score a predictor on folders of image/mask pairs.

A set is a folder holding `images/<stem>.<jpg|jpeg|png|webp>` and `masks/<stem>.png`
(0 = background, 255 = foreground). Metrics are computed at the ground truth's resolution with
bgremove.modeltools.metrics, the same code training uses for validation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from bgremove.errors import ConfigError, ImageError
from bgremove.imaging.formats import is_image_name
from bgremove.modeltools.metrics import HIGHER_IS_BETTER, METRICS, MetricAccumulator, mean_over_sets

PredictMask = Callable[[np.ndarray], np.ndarray]


def find_pairs(directory: str | Path) -> list[tuple[Path, Path]]:
    """(image, mask) paths of a set folder, sorted by stem; images without a mask are skipped."""
    directory = Path(directory)
    images_dir, masks_dir = directory / "images", directory / "masks"
    if not images_dir.is_dir() or not masks_dir.is_dir():
        raise ConfigError(f"{directory} must contain images/ and masks/ folders")
    pairs = []
    for image in sorted(images_dir.iterdir()):
        mask = masks_dir / f"{image.stem}.png"
        if is_image_name(image.name) and mask.is_file():
            pairs.append((image, mask))
    return pairs


def select_subset(items: Sequence, limit: int | None) -> list:
    """At most `limit` items, evenly spaced over the sorted list: deterministic, and spread over
    the whole set (DAVIS frames come in runs of one video) rather than its first few stems."""
    if limit is None or limit <= 0 or limit >= len(items):
        return list(items)
    idx = np.linspace(0, len(items) - 1, num=limit).round().astype(int)
    return [items[i] for i in idx]


def set_names(dirs: Sequence[str | Path]) -> list[str]:
    """Folder names as set names; parent/name where two folders share a name."""
    names = [Path(d).name for d in dirs]
    return [
        f"{Path(d).parent.name}/{Path(d).name}" if names.count(Path(d).name) > 1 else Path(d).name
        for d in dirs
    ]


def read_rgb(path: Path) -> np.ndarray:
    """HWC uint8 RGB, through bgremove.imaging.read when it is there (EXIF rotation, format checks)."""
    try:
        from bgremove.imaging.read import read_image
    except ImportError:
        read_image = None
    if read_image is not None:
        loaded = read_image(path)
        return getattr(loaded, "rgb", loaded)  # io.read_image returns a LoadedImage
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as im:
            return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    except OSError as exc:
        raise ImageError(path, f"cannot read image: {exc}") from exc


def read_mask(path: Path) -> np.ndarray:
    """HW float32 in [0, 1] from a grayscale (or RGB, first channel) PNG mask."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("L"), dtype=np.float32) / 255.0
    except OSError as exc:
        raise ImageError(path, f"cannot read mask: {exc}") from exc


def _fit_to(pred: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    pred = np.asarray(pred, dtype=np.float32)
    if pred.ndim == 3:
        pred = pred[..., 0]
    if pred.shape != shape[:2]:
        raise ValueError(f"predict_mask returned {pred.shape}, expected {shape[:2]}")
    return pred


_CLIP_FRAME = re.compile(r"^([A-Za-z][\w-]*)_\d+$")
INTERVAL_METRICS = ("iou", "mae")


def clip_of(stem: str) -> str | None:
    """'car-roundabout_00012' -> 'car-roundabout': frames of one video clip (DAVIS-style
    `clip_frame` names) are resampled together by the bootstrap; other names stand alone."""
    match = _CLIP_FRAME.match(stem)
    return match.group(1) if match else None


def evaluate_dirs(
    predict_mask: PredictMask,
    dirs: Sequence[str | Path],
    limit: int | None = None,
    progress: bool = True,
    by_clip: bool = False,
) -> dict[str, dict]:
    """Score `predict_mask` (HWC uint8 RGB -> HW float32 probability at the image's size) on each
    set folder. `limit` caps the images per set (evenly spaced, deterministic).
    Returns {set name: {metric: mean over images, "n": images, "<m>_lo"/"<m>_hi": the 95%
    bootstrap interval of iou and mae, "groups": how many independent groups it resampled}}.
    by_clip: sets with DAVIS-style `clip_frame` names also get "clips": {clip: its own row}
    (a set's mean hides which clips carry its errors)."""
    from tqdm import tqdm

    acc = MetricAccumulator()
    for directory, name in zip(dirs, set_names(dirs), strict=True):
        pairs = select_subset(find_pairs(directory), limit)
        if not pairs:
            raise ConfigError(f"{directory}: no image/mask pairs found")
        for image_path, mask_path in tqdm(pairs, desc=name, disable=not progress, leave=False):
            image, gt = read_rgb(image_path), read_mask(mask_path)
            if image.shape[:2] != gt.shape:
                raise ImageError(image_path, f"image {image.shape[:2]} and mask {gt.shape} differ")
            acc.update(name, _fit_to(predict_mask(image), gt.shape), gt,
                       group=clip_of(image_path.stem))
    results = acc.summary()
    for name, row in results.items():
        for metric in INTERVAL_METRICS:
            row[f"{metric}_lo"], row[f"{metric}_hi"], groups = acc.interval(name, metric)
        row["groups"] = float(groups)
        clips = acc.group_summary(name) if by_clip else {}
        if clips:
            row["clips"] = clips
    return results


def format_table(results: dict[str, dict], mean_row: bool = True) -> str:
    """A fixed-width table: one row per set, a mean row when there are several sets (and
    `mean_row`: clips are not sets, and their unweighted mean is no set's figure)."""
    header = ["set", "n", *METRICS, "iou 95% interval"]
    rows = [[name, f"{int(r.get('n', 0))}", *(_fmt(m, r.get(m)) for m in METRICS), _interval(r)]
            for name, r in results.items()]
    if mean_row and len(results) > 1:
        rows.append(["mean", "", *(_fmt(m, mean_over_sets(results, m)) for m in METRICS), ""])
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                       for i, (c, w) in enumerate(zip(row, widths, strict=True)))
             for row in [header, *rows]]
    arrows = "higher is better: " + ", ".join(m for m in METRICS if HIGHER_IS_BETTER[m])
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join([*lines, arrows + "; lower: mae, hausdorff (px)"])


def format_clips(results: dict[str, dict]) -> str:
    """format_table's layout with a row per clip ("davis/breakdance"), for results of
    evaluate_dirs(..., by_clip=True); empty when no set has clip names."""
    rows = {f"{name}/{clip}": crow for name, row in results.items()
            for clip, crow in row.get("clips", {}).items()}
    if not rows:
        return ""
    return format_table(rows, mean_row=False)


def _interval(row: dict[str, float]) -> str:
    if "iou_lo" not in row:
        return "-"
    return f"{row['iou_lo']:.3f}-{row['iou_hi']:.3f} ({int(row['groups'])} groups)"


def _fmt(metric: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if metric == "hausdorff" else f"{value:.4f}"
