"""train/threshold.py: scoring moved decision thresholds, and moving one into the head's bias."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")
from bgremove.inference.remover import Remover  # noqa: E402
from bgremove.model.checkpoint import read_checkpoint  # noqa: E402
from bgremove.modeltools.export import export_onnx  # noqa: E402
from tests.tiny_model import make_tiny_onnx  # noqa: E402
from tests.train.test_calibrate import _pairs  # noqa: E402
from train.threshold import best_threshold, score_thresholds, shift, write_threshold  # noqa: E402


def test_shift_puts_t_at_one_half_and_keeps_the_order() -> None:
    p = np.linspace(0.0, 1.0, 101, dtype=np.float32)
    q = shift(p, 0.6)
    assert q.dtype == np.float32
    assert shift(np.float32([0.6]), 0.6)[0] == pytest.approx(0.5)
    assert q[0] == 0.0 and q[-1] == 1.0 and np.all(np.diff(q) > 0)
    assert np.all(q[1:-1] < p[1:-1])  # t above 0.5: every unsure pixel moves towards background
    np.testing.assert_allclose(shift(p, 0.5), p, atol=1e-7)


def test_a_higher_threshold_gives_a_smaller_mask(tmp_path) -> None:
    _, onnx_path = make_tiny_onnx(tmp_path)
    items = {"a-select": _pairs(tmp_path / "a")}
    results = score_thresholds(str(onnx_path), items, (0.3, 0.5, 0.7))
    maes = [results[t]["a-select"]["mae"] for t in (0.3, 0.5, 0.7)]
    assert len(set(maes)) == 3  # the threshold reaches the scored mask
    assert set(results) == {0.3, 0.5, 0.7}


def test_the_best_threshold_is_the_highest_mean_iou_lower_on_a_tie() -> None:
    row = lambda *ious: {f"s{i}": {"iou": v} for i, v in enumerate(ious)}  # noqa: E731
    assert best_threshold({0.5: row(0.9, 0.5), 0.6: row(0.9, 0.6), 0.7: row(0.8, 0.6)}) == 0.6
    assert best_threshold({0.5: row(0.8), 0.6: row(0.8)}) == 0.5


def test_the_moved_threshold_is_in_the_weights_and_every_file_made_from_them(tmp_path) -> None:
    pth, onnx_path = make_tiny_onnx(tmp_path)
    rgb = cv2.imread(str(_pairs(tmp_path / "b", 1)[0][0]))[:, :, ::-1].copy()
    before = Remover(str(onnx_path), device="cpu").mask(rgb)
    moved = tmp_path / "moved.pth"
    delta = write_threshold(pth, moved, 0.6)
    assert delta == pytest.approx(-math.log(1.5))
    export_onnx(moved, tmp_path / "moved.onnx")
    for path in (moved, tmp_path / "moved.onnx"):
        after = Remover(str(path), device="cpu").mask(rgb)
        np.testing.assert_allclose(after, shift(before, 0.6), atol=2e-5)
    assert read_checkpoint(moved)["extra"]["threshold"] == pytest.approx(0.6)
    write_threshold(moved, tmp_path / "twice.pth", 0.6)  # moving it again adds up
    assert read_checkpoint(tmp_path / "twice.pth")["extra"]["threshold"] == pytest.approx(
        1 / (1 + (0.4 / 0.6) ** 2))
