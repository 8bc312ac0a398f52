"""train/label_agreement.py: per-pool agreement of two label caches."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from train.label_agreement import cache_agreement, main, pair_metrics


def _disc(shape: tuple[int, int], centre: tuple[int, int], radius: int) -> np.ndarray:
    return cv2.circle(np.zeros(shape, np.uint8), centre, radius, 255, -1)


def _write(cache: Path, pool: str, name: str, mask: np.ndarray) -> None:
    (cache / pool / "masks").mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(cache / pool / "masks" / f"{name}.png"), mask)


def test_pair_metrics_resizes_the_other_mask_to_the_reference() -> None:
    ref = _disc((100, 100), (50, 50), 30).astype(np.float32) / 255
    half = _disc((50, 50), (25, 25), 15).astype(np.float32) / 255
    iou, mae, cover = pair_metrics(ref, half)
    assert iou > 0.9 and mae < 0.03
    assert cover == pytest.approx(np.pi * 30 * 30 / 100**2, abs=0.01)


def test_bad_pairs_are_split_by_near_empty_references(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    shape = (100, 100)
    _write(a, "pool", "same", _disc(shape, (50, 50), 30))
    _write(b, "pool", "same", _disc(shape, (50, 50), 30))
    _write(a, "pool", "speck", _disc(shape, (10, 10), 3))  # under 2% of the frame
    _write(b, "pool", "speck", _disc(shape, (80, 80), 3))
    _write(a, "pool", "moved", _disc(shape, (25, 25), 20))
    _write(b, "pool", "moved", _disc(shape, (75, 75), 20))
    _write(a, "pool", "only-in-a", _disc(shape, (50, 50), 30))
    _write(a, "lonely", "x", _disc(shape, (50, 50), 30))  # pool absent from b: no row
    (row,) = cache_agreement(a, b)
    assert (row.pool, row.n, row.bad_near_empty, row.bad_other) == ("pool", 3, 1, 1)
    assert row.iou_median == 0.0 and row.iou_mean == pytest.approx(1 / 3)


def test_the_command_prints_a_row_per_common_pool(tmp_path: Path, capsys) -> None:
    for cache in ("a", "b"):
        _write(tmp_path / cache, "p1", "m", _disc((64, 64), (32, 32), 12))
    main([str(tmp_path / "a"), str(tmp_path / "b")])
    out = capsys.readouterr().out.splitlines()
    assert out[2] == "| p1 | 1 | 1.000 / 1.000 | 0.0000 | 0 / 0 |"


def test_caches_with_nothing_in_common_are_an_error(tmp_path: Path) -> None:
    _write(tmp_path / "a", "p1", "m", _disc((64, 64), (32, 32), 12))
    (tmp_path / "b").mkdir()
    with pytest.raises(SystemExit, match="no pool holds masks"):
        main([str(tmp_path / "a"), str(tmp_path / "b")])
