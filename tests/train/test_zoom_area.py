"""train/zoom.py: scoring zoom areas on labelled photos, the rule, and storing the area."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")
from bgremove.inference.remover import Remover  # noqa: E402
from tests.tiny_model import make_tiny_onnx  # noqa: E402
from tests.train.test_calibrate import _pairs  # noqa: E402
from train.zoom import main as zoom_main
from train.zoom import pick_area, pick_area_on_small, score_areas  # noqa: E402  # noqa: E402


def _row(iou: float, mae: float, bf: float) -> dict[str, dict]:
    return {"a-select": {"iou": iou, "mae": mae, "boundary_f": bf},
            "b-select": {"iou": iou, "mae": mae, "boundary_f": bf}}


def test_the_rule_takes_the_best_iou_and_the_larger_area_on_a_tie() -> None:
    results = {0.0: _row(0.80, 0.05, 0.70), 0.3: _row(0.802, 0.05, 0.70),
               0.5: _row(0.803, 0.049, 0.71), 0.7: _row(0.803, 0.049, 0.71)}
    assert pick_area(results) == 0.7
    results[0.7] = _row(0.8025, 0.049, 0.71)
    assert pick_area(results) == 0.5


def test_the_rule_keeps_the_zoom_off_when_anything_gets_worse() -> None:
    assert pick_area({0.0: _row(0.80, 0.05, 0.70), 0.5: _row(0.81, 0.051, 0.72)}) == 0.0
    assert pick_area({0.0: _row(0.80, 0.05, 0.70), 0.5: _row(0.81, 0.049, 0.69)}) == 0.0
    assert pick_area({0.0: _row(0.80, 0.05, 0.70), 0.5: _row(0.79, 0.04, 0.71)}) == 0.0
    assert pick_area({0.0: _row(0.80, 0.05, 0.70), 0.5: _row(0.80, 0.05, 0.70)}) == 0.5


def test_with_a_small_split_the_area_is_picked_there_and_guarded_by_the_runs_iou() -> None:
    small = {0.0: _row(0.70, 0.040, 0.60), 0.3: _row(0.71, 0.039, 0.61),
             0.7: _row(0.72, 0.038, 0.62)}
    guard = {0.0: _row(0.8373, 0.0551, 0.782), 0.7: _row(0.8376, 0.0555, 0.784)}
    assert pick_area_on_small(small, guard) == 0.7  # the run's MAE rose: only its IoU guards
    assert pick_area(guard) == 0.0  # where the run's split alone refused it
    guard[0.7] = _row(0.8370, 0.0540, 0.790)
    assert pick_area_on_small(small, guard) == 0.0  # IoU lost on the run's split
    small[0.7] = _row(0.72, 0.041, 0.62)  # MAE worse on the small split: its own rule says
    small[0.3] = _row(0.70, 0.040, 0.60)
    assert pick_area_on_small(small, {}) == 0.0


def test_areas_are_scored_and_the_chosen_one_is_stored(tmp_path) -> None:
    pth, onnx_path = make_tiny_onnx(tmp_path)
    items = {"a-select": _pairs(tmp_path / "a")}
    results = score_areas(str(onnx_path), items, (0.0, 1.0))
    assert set(results) == {0.0, 1.0}
    assert results[0.0]["a-select"]["changed"] == 0.0  # the masks the others are compared with
    assert 0.0 <= results[1.0]["a-select"]["changed"] <= 1.0
    zoom_main(["--write", "0.7", str(pth), str(onnx_path)])
    for path in (pth, onnx_path):
        r = Remover(str(path), device="cpu")
        assert r.preprocessing.zoom == 0.7
        assert r.preprocessing.input_size == 64  # the rest of the stored preprocessing is kept


def test_the_mirrors_rule_keeps_it_only_when_nothing_gets_worse() -> None:
    from train.zoom import pick_mirror

    assert pick_mirror({False: _row(0.80, 0.05, 0.70), True: _row(0.81, 0.049, 0.71)})
    assert pick_mirror({False: _row(0.80, 0.05, 0.70), True: _row(0.80, 0.05, 0.70)})
    assert not pick_mirror({False: _row(0.80, 0.05, 0.70), True: _row(0.81, 0.051, 0.71)})
    assert not pick_mirror({False: _row(0.80, 0.05, 0.70), True: _row(0.79, 0.04, 0.71)})


def test_the_mirror_is_scored_and_stored(tmp_path) -> None:
    from train.zoom import score_mirror

    pth, onnx_path = make_tiny_onnx(tmp_path)
    results = score_mirror(str(onnx_path), {"a-select": _pairs(tmp_path / "a")}, 1.0)
    assert set(results) == {False, True}
    assert set(results[True]["a-select"]) >= {"iou", "mae", "boundary_f"}
    zoom_main(["--write-mirror", "1", str(pth), str(onnx_path)])
    for path in (pth, onnx_path):
        pre = Remover(str(path), device="cpu").preprocessing
        assert pre.zoom_mirror is True and pre.input_size == 64
    zoom_main(["--write-mirror", "0", str(onnx_path)])
    assert Remover(str(onnx_path), device="cpu").preprocessing.zoom_mirror is False
