"""Teacher labelling: soft labels kept whole, pools interleaved, teachers parsed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("joblib")
from train.label_teacher import (  # noqa: E402
    interleave,
    label_stats,
    parse_teacher,
    selection_stems,
    todo,
)


def test_label_stats_report_coverage_and_mean_confidence() -> None:
    prob = np.zeros((10, 10), np.float32)
    prob[:5] = 1.0
    assert label_stats(prob) == (0.5, 1.0)
    prob[5:] = 0.5  # undecided half: no weight there
    assert label_stats(prob) == (0.5, 0.5)


def test_interleave_takes_pools_in_proportion_and_covers_everything() -> None:
    pools = {"big": [Path(f"b{i}.jpg") for i in range(30)], "small": [Path(f"s{i}.jpg") for i in range(10)]}
    order = list(interleave(pools, seed=1))
    assert sorted(p for _, p in order) == sorted(pools["big"] + pools["small"])
    first = [name for name, _ in order[:8]]
    assert first.count("small") == 2 and first.count("big") == 6
    assert order == list(interleave(pools, seed=1))  # deterministic: reruns resume the same order


def test_parse_teacher_reads_name_path_and_weight() -> None:
    t = parse_teacher("u2net=/x/u2net.onnx:0.3")
    assert (t.name, t.weights, t.weight) == ("u2net", "/x/u2net.onnx", 0.3)
    assert parse_teacher("isnet=c:/isnet.onnx").weights == "c:/isnet.onnx"
    assert parse_teacher("u2net-int8=/x/u2net-int8.onnx").name == "u2net-int8"
    with pytest.raises(Exception, match="NAME=ONNX"):
        parse_teacher("nonsense=/x.onnx")


def test_todo_skips_labelled_photos_and_puts_the_selection_first(tmp_path: Path) -> None:
    pools = {"a": [Path(f"a{i}.jpg") for i in range(6)], "b": [Path(f"b{i}.jpg") for i in range(3)]}
    (tmp_path / "a" / "masks").mkdir(parents=True)
    (tmp_path / "a" / "masks" / "a1.png").write_bytes(b"")
    sel = tmp_path / "selection.json"
    sel.write_text('{"cache/labels/u2net/a": ["a4", "a1"], "train/ccp": ["x"]}')
    assert selection_stems(sel) == {"a": {"a4", "a1"}, "ccp": {"x"}}
    plain = todo(pools, tmp_path, seed=0)
    assert len(plain) == 8 and Path("a1.jpg") not in [p for _, p in plain]
    ordered = todo(pools, tmp_path, seed=0, first=selection_stems(sel))
    assert ordered[0] == ("a", Path("a4.jpg"))
    assert ordered[1:] == [job for job in plain if job[1].stem != "a4"]  # the rest keep their order


def test_only_labels_the_photos_a_selection_holds_with_the_teachers_zoom(tmp_path: Path,
                                                                         monkeypatch) -> None:
    import train.label_teacher as lt

    pool = tmp_path / "pool"
    pool.mkdir()
    for name in ("p0", "p1", "p2"):
        (pool / f"{name}.jpg").write_bytes(b"")
    sel = tmp_path / "selection.json"
    sel.write_text('{"cache/labels/u2net-int8/pool": ["p2"]}')
    seen: list[tuple[str, float]] = []

    def fake_label_one(path, pool_out, teachers, size, flip, zoom=0.0):
        seen.append((path.name, zoom))
        return path.stem, 0.5, 1.0

    monkeypatch.setattr(lt, "label_one", fake_label_one)
    out = tmp_path / "labels"
    assert lt.main([str(pool), "--out", str(out), "--teacher", "u2net=/x.onnx", "--workers", "1",
                    "--only", str(sel), "--zoom", "0.7"]) == 0
    assert seen == [("p2.jpg", 0.7)]
    assert (out / "pool" / "labels.tsv").read_text() == "p2\t0.5000\t1.0000\n"
