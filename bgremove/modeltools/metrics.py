"""Segmentation quality metrics shared by training's validation and `bgremove eval`.

numpy + OpenCV only. Every function takes one prediction and one ground truth at the same size:
`pred` is an HW float32 foreground probability in [0, 1]; `gt` is HW bool, float in [0, 1] or
uint8 0/255.

Conventions (so numbers are comparable between runs and tools):
- IoU, precision, recall and F1 (= Dice) use the prediction thresholded at 0.5 (`pred >= 0.5`)
  and the ground truth at half its range. MAE uses the soft prediction.
- A ratio whose denominator is zero (nothing predicted, nothing to find) is 1.0 when prediction
  and ground truth are both empty (a correct "no object" answer) and 0.0 otherwise.
- Boundaries are the object pixels with a 4-neighbour outside the object. The image frame is not
  a boundary: an object cut off by the photo's edge has no contour there.
- Boundary F-score: a boundary pixel counts as matched when the other mask's boundary lies within
  `tolerance` pixels, by default 0.0075 x the image diagonal, at least 1 px (3.2 px at 320x256,
  7.3 px at 854x480), as in the DAVIS benchmark. Both boundaries empty: 1.0; one empty: 0.0.
- Hausdorff distance, in pixels: the larger of the two directed distances between the
  boundaries. Both empty: 0.0; exactly one empty: the image diagonal (the worst possible value).
"""

from __future__ import annotations

import math
from collections import defaultdict

import cv2
import numpy as np

METRICS = ("iou", "precision", "recall", "f1", "mae", "boundary_f", "hausdorff")
# Which way is better, for tables and for picking the best checkpoint.
HIGHER_IS_BETTER = {m: m not in ("mae", "hausdorff") for m in METRICS}
BOUNDARY_TOLERANCE_FRACTION = 0.0075
_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


def as_float_mask(gt: np.ndarray) -> np.ndarray:
    """Ground truth of any supported dtype as HW float32 in [0, 1]."""
    if gt.dtype == bool:
        return gt.astype(np.float32)
    if gt.dtype == np.uint8:
        return gt.astype(np.float32) / 255.0
    return np.clip(gt.astype(np.float32), 0.0, 1.0)


def binarise(mask: np.ndarray) -> np.ndarray:
    """HW bool: probability >= 0.5 (uint8 masks: >= 128)."""
    if mask.dtype == bool:
        return mask
    if mask.dtype == np.uint8:
        return mask >= 128
    return mask >= 0.5


def _ratio(num: float, den: float, both_empty: bool) -> float:
    if den == 0:
        return 1.0 if both_empty else 0.0
    return float(num / den)


def region_metrics(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """IoU, precision, recall, F1 after thresholding, and MAE on the soft prediction."""
    _check_shapes(pred, gt)
    p, g = binarise(pred), binarise(gt)
    tp = float(np.count_nonzero(p & g))
    n_pred, n_gt = float(np.count_nonzero(p)), float(np.count_nonzero(g))
    empty = n_pred == 0 and n_gt == 0
    return {
        "iou": _ratio(tp, n_pred + n_gt - tp, empty),
        "precision": _ratio(tp, n_pred, empty),
        "recall": _ratio(tp, n_gt, empty),
        "f1": _ratio(2 * tp, n_pred + n_gt, empty),
        "mae": float(np.mean(np.abs(as_float_mask(pred) - as_float_mask(gt)))),
    }


def boundary(mask: np.ndarray) -> np.ndarray:
    """HW bool: object pixels with a 4-neighbour outside the object (the frame does not count)."""
    m = binarise(mask).astype(np.uint8)
    # borderValue=1: pixels outside the image count as object, so the frame is not a contour.
    eroded = cv2.erode(m, _CROSS, borderType=cv2.BORDER_CONSTANT, borderValue=1)
    return (m > eroded).astype(bool)


def distance_to(edge: np.ndarray) -> np.ndarray:
    """Euclidean distance (px) from every pixel to the nearest True pixel of `edge`."""
    src = np.where(edge, 0, 255).astype(np.uint8)
    return cv2.distanceTransform(src, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def default_tolerance(shape: tuple[int, ...]) -> float:
    return max(1.0, BOUNDARY_TOLERANCE_FRACTION * math.hypot(shape[0], shape[1]))


def boundary_metrics(
    pred: np.ndarray, gt: np.ndarray, tolerance: float | None = None
) -> dict[str, float]:
    """Boundary F-score within `tolerance` px and the Hausdorff distance of the boundaries."""
    _check_shapes(pred, gt)
    bp, bg = boundary(pred), boundary(gt)
    has_p, has_g = bool(bp.any()), bool(bg.any())
    diagonal = math.hypot(*gt.shape[:2])
    if not has_p or not has_g:
        both = not has_p and not has_g
        return {"boundary_f": 1.0 if both else 0.0, "hausdorff": 0.0 if both else diagonal}
    tol = default_tolerance(gt.shape) if tolerance is None else tolerance
    d_to_g, d_to_p = distance_to(bg)[bp], distance_to(bp)[bg]
    precision = float(np.mean(d_to_g <= tol))
    recall = float(np.mean(d_to_p <= tol))
    f = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return {"boundary_f": f, "hausdorff": float(max(d_to_g.max(), d_to_p.max()))}


def image_metrics(
    pred: np.ndarray, gt: np.ndarray, tolerance: float | None = None
) -> dict[str, float]:
    """All of METRICS for one image."""
    return {**region_metrics(pred, gt), **boundary_metrics(pred, gt, tolerance)}


def _check_shapes(pred: np.ndarray, gt: np.ndarray) -> None:
    if pred.shape[:2] != gt.shape[:2] or pred.ndim != 2 or gt.ndim != 2:
        raise ValueError(f"pred {pred.shape} and gt {gt.shape} must be HW masks of one size")


def edge_colour_error(estimate: np.ndarray, truth: np.ndarray, a8: np.ndarray) -> dict[str, float]:
    """How far a cutout's colours are from the true foreground on its soft edge (0 < a8 < 255),
    in grey levels (0-255), for a photo composited from a known foreground: `mean` is the mean
    |estimate - truth| over the edge's pixels and channels; `visible` weighs each pixel by its
    alpha, which is the error a viewer sees once the cutout is laid on any new background."""
    soft = (a8 > 0) & (a8 < 255)
    if not soft.any():
        return {"mean": 0.0, "visible": 0.0, "pixels": 0.0}
    diff = np.abs(estimate[soft].astype(np.float32) - truth[soft].astype(np.float32)).mean(axis=1)
    a = a8[soft].astype(np.float32) / 255.0
    return {"mean": float(diff.mean()), "visible": float((diff * a).sum() / a.sum()),
            "pixels": float(soft.sum())}


class MetricAccumulator:
    """Averages per-image metrics per set: every image weighs the same within its set."""

    def __init__(self) -> None:
        self._sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self._counts: dict[str, int] = defaultdict(int)
        self._rows: dict[str, list[tuple[str | None, dict[str, float]]]] = defaultdict(list)

    def add(self, set_name: str, metrics: dict[str, float], group: str | None = None) -> None:
        """`group`: images that are not independent (frames of one video clip) share one, so
        that `interval` resamples them together; None = the image is its own group."""
        for key, value in metrics.items():
            self._sums[set_name][key] += float(value)
        self._counts[set_name] += 1
        self._rows[set_name].append((group, dict(metrics)))

    def update(
        self, set_name: str, pred: np.ndarray, gt: np.ndarray, tolerance: float | None = None,
        group: str | None = None,
    ) -> dict[str, float]:
        """Score one image, add it to `set_name`, and return its metrics."""
        metrics = image_metrics(pred, gt, tolerance)
        self.add(set_name, metrics, group)
        return metrics

    def interval(self, set_name: str, metric: str, rounds: int = 2000, level: float = 0.95,
                 seed: int = 0) -> tuple[float, float, int]:
        """Percentile bootstrap interval of the set's mean `metric`, resampling whole groups
        (DAVIS: clips, so ten clips of 164 frames count as ten observations, not 164).
        Returns (low, high, number of groups)."""
        groups: dict[str | int, list[float]] = defaultdict(list)
        for i, (group, metrics) in enumerate(self._rows[set_name]):
            groups[group if group is not None else i].append(metrics[metric])
        sums = np.array([sum(v) for v in groups.values()])
        counts = np.array([len(v) for v in groups.values()], np.float64)
        rng = np.random.default_rng(seed)
        picks = rng.integers(0, len(sums), size=(rounds, len(sums)))
        means = sums[picks].sum(1) / counts[picks].sum(1)
        tail = (1.0 - level) / 2 * 100
        lo, hi = np.percentile(means, [tail, 100 - tail])
        return float(lo), float(hi), len(sums)

    def group_summary(self, set_name: str) -> dict[str, dict[str, float]]:
        """{group: {metric: mean over its images, "n": images}} for the named groups of a set
        (DAVIS clips), in the order first seen; images added without a group are left out."""
        rows: dict[str, list[dict[str, float]]] = defaultdict(list)
        for group, metrics in self._rows[set_name]:
            if group is not None:
                rows[group].append(metrics)
        return {group: {**{k: float(np.mean([m[k] for m in ms])) for k in ms[0]},
                        "n": float(len(ms))}
                for group, ms in rows.items()}

    def summary(self) -> dict[str, dict[str, float]]:
        """{set: {metric: mean, ..., "n": images}} in the order sets were first seen."""
        out: dict[str, dict[str, float]] = {}
        for name, sums in self._sums.items():
            n = self._counts[name]
            out[name] = {k: v / n for k, v in sums.items()}
            out[name]["n"] = float(n)
        return out


def mean_over_sets(results: dict[str, dict[str, float]], metric: str) -> float:
    """Unweighted mean of one metric over sets, so a small set counts as much as a large one."""
    values = [r[metric] for r in results.values() if metric in r]
    return float(np.mean(values)) if values else float("nan")
