"""train/pack.py: a run's folders packed small, with its split, and cut into travelling parts."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from train.data import folder_items
from train.pack import config_folders, main, split_parts


def _set(root: Path, name: str, n: int, size: tuple[int, int] = (600, 400)) -> None:
    folder = root / name
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    rng = np.random.default_rng(len(name))
    for i in range(n):
        img = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
        mask = np.zeros(size, np.uint8)
        mask[size[0] // 4:, : size[1] // 2] = 255
        cv2.imwrite(str(folder / "images" / f"p{i}.png"), img)
        cv2.imwrite(str(folder / "masks" / f"p{i}.png"), mask)


def _config(tmp: Path, data: Path) -> Path:
    cfg = tmp / "cfg.py"
    cfg.write_text(
        f"data_root = {str(data)!r}\n"
        "train_sets = ['train/a:1.0', 'train/b:2.0']\n"
        "extra_sets = ['pools/c:0.5']\n"
        "copypaste_donors = ['train/a:0.5']\n"
        "copypaste_backgrounds = ['pools/c']\n"
    )
    return cfg


def test_every_folder_the_run_reads_is_named_once() -> None:
    cfg = {"train_sets": ["train/a:1.0"], "extra_sets": ["pools/c:0.5"],
           "copypaste_donors": ["train/a:0.5"], "copypaste_backgrounds": ["pools/c", "bg"]}
    assert config_folders(cfg) == ["train/a", "pools/c", "bg"]


def test_the_pack_keeps_the_split_caps_the_rest_and_leaves_other_splits_out(tmp_path) -> None:
    data = tmp_path / "data"
    for name, n in (("train/a", 12), ("train/b", 3), ("pools/c", 6)):
        _set(data, name, n)
    selection = tmp_path / "sel.json"
    selection.write_text(json.dumps({"train/a": ["p0", "p11"], "cache/u2net/c": ["p1"]}))
    other = tmp_path / "small.json"
    other.write_text(json.dumps({"elsewhere/c": ["p2", "p3"]}))
    out = tmp_path / "pack"
    assert main(["--config", str(_config(tmp_path, data)), "--selection", str(selection),
                 "--leave-out", str(other), "--cap", "train/a:4", "--out", str(out)]) == 0

    stems = {name: sorted(i.stem for i, _ in folder_items(out / name))
             for name in ("train/a", "train/b", "pools/c")}
    assert {"p0", "p11"} <= set(stems["train/a"]) and len(stems["train/a"]) == 2 + 4
    assert len(stems["train/b"]) == 3
    assert stems["pools/c"] == ["p0", "p1", "p4", "p5"]  # p1 held out (by pool name), p2/p3 gone
    assert json.loads((out / "selection.json").read_text()) == json.loads(selection.read_text())
    img = cv2.imread(str(out / "train/b/images/p0.jpg"))
    mask = cv2.imread(str(out / "train/b/masks/p0.png"), cv2.IMREAD_GRAYSCALE)
    assert img.shape[:2] == mask.shape == (384, 256)  # the long side at 384, aspect kept


def test_parts_keep_pairs_together_and_merge_back_to_the_pack(tmp_path) -> None:
    data = tmp_path / "data"
    for name, n in (("train/a", 7), ("train/b", 3), ("pools/c", 4)):
        _set(data, name, n, size=(200, 300))
    selection = tmp_path / "sel.json"
    selection.write_text("{}")
    out = tmp_path / "pack"
    main(["--config", str(_config(tmp_path, data)), "--selection", str(selection),
          "--out", str(out), "--parts", "3"])

    merged = tmp_path / "merged"
    for k in (1, 2, 3):
        part = out / f"part{k}"
        assert (part / "selection.json").is_file()  # each part trains on its own
        for img in part.rglob("images/*"):  # a photo's mask travels in the same part
            assert (img.parent.parent / "masks" / f"{img.stem}.png").is_file()
        for f in part.rglob("*"):
            if f.is_file():
                dst = merged / f.relative_to(part)
                dst.parent.mkdir(parents=True, exist_ok=True)
                dst.write_bytes(f.read_bytes())
    for name in ("train/a", "train/b", "pools/c"):
        assert [i.name for i, _ in folder_items(merged / name)] == \
            [i.name for i, _ in folder_items(out / name)]
    sizes = [sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
             for p in split_parts(out, 3)]  # a second cut finds the links already there
    assert max(sizes) < 1.5 * min(sizes)
