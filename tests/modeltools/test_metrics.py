"""modeltools.metrics on synthetic masks with hand-computed values, and modeltools.evaluate."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bgremove.errors import ConfigError
from bgremove.modeltools.evaluate import evaluate_dirs, find_pairs, format_table, select_subset, set_names
from bgremove.modeltools.metrics import (
    MetricAccumulator,
    boundary,
    boundary_metrics,
    image_metrics,
    mean_over_sets,
    region_metrics,
)


def rect(h: int, w: int, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    m = np.zeros((h, w), np.float32)
    m[y0:y1, x0:x1] = 1.0
    return m


def test_region_metrics_known_values() -> None:
    gt = rect(10, 10, 0, 10, 0, 4)  # 40 px
    pred = rect(10, 10, 0, 10, 2, 8)  # 60 px, 20 of them on gt
    m = region_metrics(pred, gt > 0.5)
    assert m["iou"] == pytest.approx(20 / 80)
    assert m["precision"] == pytest.approx(20 / 60)
    assert m["recall"] == pytest.approx(20 / 40)
    assert m["f1"] == pytest.approx(2 * 20 / 100)
    assert m["mae"] == pytest.approx(60 / 100)


def test_threshold_half_and_soft_mae() -> None:
    gt = rect(4, 4, 0, 4, 0, 2)
    pred = gt * 0.6 + (1 - gt) * 0.4  # right side of 0.5 everywhere, but unsure
    m = region_metrics(pred.astype(np.float32), (gt * 255).astype(np.uint8))
    assert m["iou"] == 1.0 and m["f1"] == 1.0
    assert m["mae"] == pytest.approx(0.4)


def test_empty_masks() -> None:
    empty = np.zeros((8, 8), np.float32)
    full = np.ones((8, 8), np.float32)
    both = image_metrics(empty, empty)
    assert both["iou"] == both["f1"] == both["precision"] == both["boundary_f"] == 1.0
    assert both["hausdorff"] == 0.0 and both["mae"] == 0.0
    miss = image_metrics(empty, rect(8, 8, 2, 6, 2, 6))
    assert miss["iou"] == miss["recall"] == miss["precision"] == miss["boundary_f"] == 0.0
    assert miss["hausdorff"] == pytest.approx(math.hypot(8, 8))
    assert image_metrics(full, full)["iou"] == 1.0


def test_boundary_excludes_the_image_frame() -> None:
    b = boundary(rect(10, 10, 0, 10, 0, 5))  # touches top, bottom and left edges
    assert b[:, 4].all() and b.sum() == 10


def test_hausdorff_and_boundary_f_of_shifted_squares() -> None:
    gt = rect(100, 100, 20, 60, 20, 60)
    pred = rect(100, 100, 20, 60, 25, 65)  # shifted 5 px right
    m = boundary_metrics(pred, gt, tolerance=2.0)
    assert m["hausdorff"] == pytest.approx(5.0)
    # Matched within 2 px: the top/bottom edges' overlapping parts; the side edges are 5 px off.
    assert 0.3 < m["boundary_f"] < 0.9
    assert boundary_metrics(pred, gt, tolerance=5.0)["boundary_f"] == 1.0
    assert boundary_metrics(gt, gt)["boundary_f"] == 1.0
    assert boundary_metrics(gt, gt)["hausdorff"] == 0.0


def test_shape_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError):
        image_metrics(np.zeros((4, 4), np.float32), np.zeros((4, 5), bool))


def test_accumulator_averages_per_set() -> None:
    acc = MetricAccumulator()
    gt = rect(10, 10, 0, 10, 0, 5)
    acc.update("a", gt, gt)
    acc.update("a", np.zeros_like(gt), gt)
    acc.update("b", gt, gt)
    s = acc.summary()
    assert s["a"]["iou"] == pytest.approx(0.5) and s["a"]["n"] == 2
    assert s["b"]["iou"] == 1.0
    assert mean_over_sets(s, "iou") == pytest.approx(0.75)  # sets weigh equally


def write_pairs(root: Path, n: int) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(n):
        mask = (rect(24, 32, 4, 20, 4 + i, 20 + i) * 255).astype(np.uint8)
        Image.fromarray(np.dstack([mask] * 3)).save(root / "images" / f"{i:02d}.png")
        Image.fromarray(mask).save(root / "masks" / f"{i:02d}.png")
    (root / "images" / "orphan.png").write_bytes(b"")  # no mask: skipped
    return root


def test_evaluate_dirs_with_a_perfect_and_a_blind_predictor(tmp_path: Path) -> None:
    a, b = write_pairs(tmp_path / "x" / "set", 5), write_pairs(tmp_path / "y" / "set", 3)
    assert len(find_pairs(a)) == 5
    perfect = evaluate_dirs(lambda img: img[..., 0] / 255.0, [a, b], progress=False)
    assert list(perfect) == ["x/set", "y/set"]
    assert perfect["x/set"]["iou"] == 1.0 and perfect["x/set"]["n"] == 5
    blind = evaluate_dirs(lambda img: np.zeros(img.shape[:2], np.float32), [a], limit=2,
                          progress=False)
    assert blind["set"]["iou"] == 0.0 and blind["set"]["n"] == 2
    table = format_table(perfect)
    assert "x/set" in table and "mean" in table and "hausdorff" in table
    json.dumps(perfect)  # the CLI's --json prints this as it is
    with pytest.raises(ValueError):
        evaluate_dirs(lambda img: np.zeros((3, 3), np.float32), [a], progress=False)
    with pytest.raises(ConfigError):
        evaluate_dirs(lambda img: img, [tmp_path], progress=False)


def test_select_subset_is_even_and_deterministic() -> None:
    items = list(range(100))
    assert select_subset(items, 5) == [0, 25, 50, 74, 99]
    assert select_subset(items, None) == items and select_subset(items, 0) == items
    assert set_names(["a/v", "b/v", "c/w"]) == ["a/v", "b/v", "w"]


def test_real_val_sets_ground_truth_scores_perfectly() -> None:
    root = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "val"
    if not root.is_dir():
        pytest.skip("val sets: ../shared/data not found")
    first_mask = find_pairs(root / "davis")[0][1]

    def oracle(img: np.ndarray) -> np.ndarray:  # limit=1 scores the first pair only
        return np.asarray(Image.open(first_mask), np.float32) / 255.0

    res = evaluate_dirs(oracle, [root / "davis"], limit=1, progress=False)
    assert res["davis"]["iou"] == 1.0 and res["davis"]["boundary_f"] == 1.0


def test_bootstrap_interval_resamples_clips_not_frames() -> None:
    from bgremove.modeltools.evaluate import clip_of
    from bgremove.modeltools.metrics import MetricAccumulator

    assert clip_of("car-roundabout_00012") == "car-roundabout"
    assert clip_of("000057_1") is None and clip_of("0003") is None
    acc = MetricAccumulator()
    # Two clips of 50 frames each: one perfect, one at 0.5. Frame by frame the mean looks
    # certain; clip by clip there are only two observations, so the interval spans both.
    for clip, iou in (("a", 1.0), ("b", 0.5)):
        for _ in range(50):
            acc.add("davis", {"iou": iou}, group=clip)
    lo, hi, groups = acc.interval("davis", "iou")
    assert groups == 2 and lo == 0.5 and hi == 1.0
    frames = MetricAccumulator()
    for i in range(100):
        frames.add("x", {"iou": 1.0 if i % 2 else 0.5})
    lo, hi, groups = frames.interval("x", "iou")
    assert groups == 100 and 0.65 < lo < 0.75 < hi < 0.85


def test_evaluate_dirs_reports_an_interval(tmp_path: Path) -> None:
    a = write_pairs(tmp_path / "a", 3)
    res = evaluate_dirs(lambda img: img[..., 0] / 255.0, [a], progress=False)["a"]
    assert res["iou_lo"] == res["iou_hi"] == 1.0 and res["groups"] == 3


def test_group_summary_averages_each_clip_and_skips_loose_images() -> None:
    acc = MetricAccumulator()
    for iou in (1.0, 0.5):
        acc.add("davis", {"iou": iou}, group="cows")
    acc.add("davis", {"iou": 0.2}, group="libby")
    acc.add("davis", {"iou": 0.0})  # no clip name: in the set's mean, in no clip's row
    clips = acc.group_summary("davis")
    assert list(clips) == ["cows", "libby"]
    assert clips["cows"] == {"iou": 0.75, "n": 2.0} and clips["libby"] == {"iou": 0.2, "n": 1.0}
    assert acc.summary()["davis"]["iou"] == pytest.approx(1.7 / 4)


def test_evaluate_dirs_by_clip(tmp_path: Path) -> None:
    from bgremove.modeltools.evaluate import format_clips

    root = tmp_path / "clips"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    mask = (rect(24, 32, 4, 20, 4, 20) * 255).astype(np.uint8)
    for stem in ("swan_00000", "swan_00004", "dog_00000", "0007"):
        image = np.dstack([mask] * 3)
        image[0, 0, 1] = 1 if stem.startswith("swan") else 0  # tells the predictor the clip
        Image.fromarray(image).save(root / "images" / f"{stem}.png")
        Image.fromarray(mask).save(root / "masks" / f"{stem}.png")
    flat = write_pairs(tmp_path / "flat", 2)

    def swan_blind(img: np.ndarray) -> np.ndarray:  # right on every image but the swan's
        return img[..., 0] / 255.0 * (0.0 if img[0, 0, 1] == 1 else 1.0)

    res = evaluate_dirs(swan_blind, [root, flat], progress=False, by_clip=True)
    clips = res["clips"]["clips"]
    assert list(clips) == ["dog", "swan"] and clips["swan"]["n"] == 2
    assert clips["dog"]["iou"] == 1.0 and clips["swan"]["iou"] == 0.0
    assert res["clips"]["iou"] == 0.5 and "clips" not in res["flat"]
    table = format_clips(res)
    assert "clips/swan" in table and "clips/dog" in table and "mean" not in table
    assert "clips" not in evaluate_dirs(lambda img: img[..., 0] / 255.0, [root],
                                        progress=False)["clips"]
    json.dumps(res)
