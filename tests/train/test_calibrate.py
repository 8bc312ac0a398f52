"""train/calibrate.py: scoring sharpening factors on labelled photos, and storing the chosen one."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")
from bgremove.inference.remover import Remover  # noqa: E402
from tests.tiny_model import make_tiny_onnx  # noqa: E402
from train.calibrate import score_factors, write_factor  # noqa: E402


def _pairs(folder: Path, n: int = 3) -> list[tuple[Path, Path]]:
    rng = np.random.default_rng(1)
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    pairs = []
    for i in range(n):
        img = np.full((96, 128, 3), 235, np.uint8)
        mask = np.zeros((96, 128), np.uint8)
        y, x = rng.integers(10, 40, 2)
        img[y : y + 40, x : x + 60] = rng.integers(0, 120, 3)
        mask[y : y + 40, x : x + 60] = 255
        pairs.append((folder / "images" / f"p{i}.png", folder / "masks" / f"p{i}.png"))
        cv2.imwrite(str(pairs[-1][0]), img)
        cv2.imwrite(str(pairs[-1][1]), mask)
    return pairs


def test_factors_change_mae_and_the_soft_band_but_not_the_thresholded_mask(tmp_path):
    _, onnx_path = make_tiny_onnx(tmp_path)
    items = {"a-select": _pairs(tmp_path / "a")}
    results = score_factors(str(onnx_path), items, (1.0, 2.0, 3.0))
    rows = [results[f]["a-select"] for f in (1.0, 2.0, 3.0)]
    assert rows[0]["iou"] == rows[1]["iou"] == rows[2]["iou"]
    assert rows[0]["boundary_f"] == rows[1]["boundary_f"] == rows[2]["boundary_f"]
    assert rows[0]["soft"] > 0  # an untrained model's mask is soft almost everywhere
    assert rows[0]["soft"] >= rows[1]["soft"] >= rows[2]["soft"]
    assert rows[0]["mae"] != rows[1]["mae"]


def test_the_factor_is_written_into_pth_and_onnx_and_applied(tmp_path):
    pth, onnx_path = make_tiny_onnx(tmp_path)
    rgb = cv2.imread(str(_pairs(tmp_path / "b", 1)[0][0]))[:, :, ::-1].copy()
    before = Remover(str(onnx_path), device="cpu").mask(rgb)
    write_factor([pth, onnx_path], 2.0)
    for path in (pth, onnx_path):
        r = Remover(str(path), device="cpu")
        assert r.preprocessing.sharpen == 2.0
        assert r.preprocessing.input_size == 64  # the rest of the stored preprocessing is kept
    after = Remover(str(onnx_path), device="cpu").mask(rgb)
    expected = before.astype(np.float64) ** 2 / (before**2.0 + (1.0 - before) ** 2.0)
    np.testing.assert_allclose(after, expected, atol=1e-5)
