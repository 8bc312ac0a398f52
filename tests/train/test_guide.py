"""train/guide.py: scoring guided-filter radii on labelled photos, the rule, and storing the radius."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")
from bgremove.inference.guided import guided_filter  # noqa: E402
from bgremove.inference.remover import Remover  # noqa: E402
from tests.tiny_model import make_tiny_onnx  # noqa: E402
from tests.train.test_calibrate import _pairs  # noqa: E402
from train.guide import main as guide_main  # noqa: E402
from train.guide import pick_radius, score_radii  # noqa: E402


def _row(iou: float, mae: float, bf: float) -> dict[str, dict]:
    return {"a-select": {"iou": iou, "mae": mae, "boundary_f": bf},
            "b-select": {"iou": iou, "mae": mae, "boundary_f": bf}}


def test_the_rule_takes_the_smallest_radius_near_the_best_iou() -> None:
    results = {0: _row(0.80, 0.05, 0.70), 1: _row(0.8010, 0.049, 0.71),
               2: _row(0.8016, 0.049, 0.72), 3: _row(0.8020, 0.050, 0.72)}
    assert pick_radius(results) == 2  # 3 is best; 2 is within 0.0005 of it, 1 is not


def test_the_rule_keeps_the_filter_off_when_mae_or_boundary_f_get_worse() -> None:
    worse_mae = {0: _row(0.80, 0.05, 0.70), 2: _row(0.81, 0.051, 0.72)}
    worse_bf = {0: _row(0.80, 0.05, 0.70), 2: _row(0.81, 0.049, 0.69)}
    assert pick_radius(worse_mae) == 0
    assert pick_radius(worse_bf) == 0
    assert pick_radius({0: _row(0.80, 0.05, 0.70), 2: _row(0.79, 0.04, 0.71)}) == 0


def test_radii_are_scored_and_the_chosen_one_is_stored_and_applied(tmp_path) -> None:
    pth, onnx_path = make_tiny_onnx(tmp_path)
    items = {"a-select": _pairs(tmp_path / "a")}
    results = score_radii(str(onnx_path), items, (0, 2))
    assert set(results) == {0, 2}
    assert results[0]["a-select"]["mae"] != results[2]["a-select"]["mae"]  # the filter ran
    rgb = np.full((96, 128, 3), 235, np.uint8)
    rgb[30:70, 40:100] = (90, 20, 10)
    before = Remover(str(onnx_path), device="cpu").mask(rgb)
    guide_main(["--write", "2", str(pth), str(onnx_path)])
    for path in (pth, onnx_path):
        r = Remover(str(path), device="cpu")
        assert r.preprocessing.guide == 2
        assert r.preprocessing.input_size == 64  # the rest of the stored preprocessing is kept
    after = Remover(str(onnx_path), device="cpu").mask(rgb)
    assert not np.allclose(before, after)
    # Not the full-resolution mask filtered afterwards: the filter works on the model's answer.
    assert not np.allclose(after, guided_filter(rgb, before, 2), atol=1e-4)
