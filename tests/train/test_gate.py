"""train/gate.py: the ship rule's clauses, the sharpening pick, and a whole gate on a tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from train.gate import Figures, file_names, verdict

pytest.importorskip("torch")
pytest.importorskip("onnx")
from tests.tiny_model import make_tiny_checkpoint, make_tiny_onnx  # noqa: E402
from tests.train.test_calibrate import _pairs  # noqa: E402
from train.calibrate import pick_factor  # noqa: E402

SHIPPED = {"viton-cloth": {"iou": 0.9642, "mae": 0.0231}, "ccp": {"iou": 0.9557, "mae": 0.0118},
           "davis": {"iou": 0.7258, "mae": 0.0319}}


def _figures(split: float, **changes: float) -> Figures:
    val = {n: dict(r) for n, r in SHIPPED.items()}
    for key, value in changes.items():  # e.g. davis_iou=0.70
        name, metric = key.rsplit("_", 1)
        val[name.replace("_", "-")][metric] = value
    return Figures(split, val, {n: dict(r) for n, r in val.items()})


def test_the_rule_passes_a_better_split_with_val_kept() -> None:
    assert verdict(_figures(0.8420, davis_iou=0.7200), _figures(0.8413)) == []


@pytest.mark.parametrize("candidate, clause", [
    (_figures(0.8413), "split 0.8413 not above"),
    (_figures(0.8420, viton_cloth_iou=0.9625), "viton-cloth 0.9625 / 0.0231 misses"),
    (_figures(0.8420, viton_cloth_mae=0.0350), "misses 0.963 / 0.034"),
    (_figures(0.8420, davis_iou=0.7150), "davis 0.7150 more than 0.01 below"),
])
def test_each_clause_of_the_rule_can_fail(candidate: Figures, clause: str) -> None:
    failed = verdict(candidate, _figures(0.8413))
    assert len(failed) == 1 and clause in failed[0]


def test_an_int8_file_too_far_from_fp32_fails() -> None:
    candidate = _figures(0.8420)
    candidate.int8["ccp"]["iou"] -= 0.006
    assert verdict(candidate, _figures(0.8413)) == ["ccp int8 0.0060 from fp32 (at most 0.005)"]


def test_the_factor_is_the_smallest_within_the_tolerance_of_the_best_mae() -> None:
    row = lambda *maes: {f"s{i}": {"mae": v} for i, v in enumerate(maes)}  # noqa: E731
    results = {1.0: row(0.030, 0.020), 1.5: row(0.0262, 0.020), 2.0: row(0.026, 0.020),
               2.5: row(0.0255, 0.0201)}
    assert pick_factor(results) == 1.5  # mean 0.0231 is within 0.0005 of the best, 0.0228
    assert pick_factor(results, tolerance=0.0) == 2.5


def _split_run(tmp_path: Path) -> tuple[Path, Path]:
    """(a folder of 3 labelled photos, a run folder whose selection.json holds them)."""
    select = tmp_path / "select"
    _pairs(select, 3)
    run = tmp_path / "run"
    run.mkdir()
    (run / "selection.json").write_text(json.dumps({str(select): ["p0", "p1", "p2"]}))
    return select, run


def test_a_whole_gate_writes_its_files_and_figures(tmp_path: Path, capsys) -> None:
    from train.gate import gate

    data = tmp_path / "data"
    for name in ("viton-cloth", "ccp", "davis"):
        _pairs(data / "val" / name, 2)
    select, run = _split_run(tmp_path)
    baseline, _ = make_tiny_onnx(tmp_path)
    candidate = make_tiny_checkpoint(tmp_path / "candidate.pth", seed=1)
    out = tmp_path / "gate"
    figures = gate([candidate], run, baseline, out, select / "images", data, small_run=run)
    fig = figures[str(candidate)]
    assert set(fig.val) == set(fig.int8) == {"viton-cloth", "ccp", "davis"}
    assert 0.0 <= fig.split <= 1.0 and fig.threshold in (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)
    assert fig.zoom in (0.0, 0.3, 0.5, 0.7)
    from train.mirror import EVERY, LEVELS

    assert fig.mirror_busy in (0.0, EVERY, *LEVELS)
    from bgremove.inference.remover import Remover

    for name in ("candidate-t.pth", "candidate-t.onnx", "candidate-t.int8.onnx"):
        pre = Remover(out / name, device="cpu").preprocessing
        assert (pre.zoom, pre.zoom_mirror, pre.mirror_busy) == (fig.zoom, fig.mirror,
                                                                fig.mirror_busy), name
    for name in ("candidate.onnx", "candidate-t.pth", "candidate-t.onnx", "candidate-t.int8.onnx"):
        assert (out / name).is_file(), name
    assert set(json.loads((out / "gate.json").read_text())) == {"baseline", str(candidate)}
    assert "-> " in capsys.readouterr().out  # the verdict is printed


def test_the_mirror_is_measured_on_the_small_split_only_where_the_zoom_is_on(tmp_path: Path) -> None:
    from bgremove.inference.remover import Remover
    from train.gate import _mirror

    _, run = _split_run(tmp_path)
    _, onnx_path = make_tiny_onnx(tmp_path)
    assert _mirror([onnx_path], onnx_path, 0.0, run) is False  # no zoom: nothing to mirror
    assert _mirror([onnx_path], onnx_path, 1.0, None) is False  # no small split: off
    mirror = _mirror([onnx_path], onnx_path, 1.0, run)
    assert Remover(onnx_path, device="cpu").preprocessing.zoom_mirror is mirror


def test_candidates_sharing_a_file_name_get_their_folder_in_front() -> None:
    names = file_names([Path("runs/a/best.pth"), Path("runs/soup/best.pth"), Path("runs/a/e3.pth")])
    assert names == ["a-best", "soup-best", "e3"]
    with pytest.raises(SystemExit, match="collide"):
        file_names([Path("runs/a/best.pth"), Path("other/a/best.pth")])
