"""train/small_split.py: a selection split of photos whose labelled object is small."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from train.small_split import is_small, main, seeded_order


def _label(h: int, w: int, box: tuple[int, int, int, int]) -> np.ndarray:
    label = np.zeros((h, w), np.float32)
    y0, y1, x0, x1 = box
    label[y0:y1, x0:x1] = 1.0
    return label


def test_small_means_a_zoom_crop_of_at_most_the_area_and_some_object() -> None:
    assert is_small(_label(200, 200, (90, 110, 90, 110)), 0.5, 0.005)  # 1% object, small crop
    assert not is_small(_label(200, 200, (20, 180, 20, 180)), 0.5, 0.005)  # fills the frame
    assert not is_small(_label(200, 200, (100, 102, 100, 102)), 0.5, 0.005)  # a few pixels
    assert not is_small(np.zeros((200, 200), np.float32), 0.5, 0.0)  # no object at all


def test_the_order_is_seeded_and_stable_when_a_pool_grows() -> None:
    stems = [f"s{i}" for i in range(20)]
    order = seeded_order(stems, 0)
    assert sorted(order) == sorted(stems) and order != stems
    grown = seeded_order(stems + ["new1", "new2"], 0)
    assert [s for s in grown if s in stems] == order  # earlier picks keep their order
    assert seeded_order(stems, 1) != order


def _pool(root: Path, name: str, boxes: dict[str, tuple[int, int, int, int]]) -> Path:
    folder = root / name
    (folder / "masks").mkdir(parents=True)
    (folder / "images").mkdir()
    for stem, box in boxes.items():
        cv2.imwrite(str(folder / "masks" / f"{stem}.png"), (_label(100, 100, box) * 255).astype(np.uint8))
        cv2.imwrite(str(folder / "images" / f"{stem}.jpg"), np.zeros((100, 100, 3), np.uint8))
    return folder


def test_main_writes_small_objects_per_pool_leaving_out_an_existing_split(tmp_path: Path) -> None:
    small, large = (40, 50, 40, 50), (5, 95, 5, 95)
    a = _pool(tmp_path, "a", {"a0": small, "a1": small, "a2": large, "a3": small})
    b = _pool(tmp_path, "b", {"b0": large})
    exclude = tmp_path / "held.json"
    exclude.write_text(json.dumps({str(a): ["a3"]}))
    out = tmp_path / "small.json"
    assert main([str(a), str(b), "--out", str(out), "--exclude", str(exclude), "--per-pool", "5",
                 "--data-root", str(tmp_path)]) == 0
    assert json.loads(out.read_text()) == {"a": ["a0", "a1"]}  # relative to the data root
    main([str(a), "--out", str(out), "--per-pool", "1", "--data-root", str(tmp_path)])
    assert len(json.loads(out.read_text())["a"]) == 1
