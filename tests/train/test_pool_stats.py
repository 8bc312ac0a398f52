"""train/pool_stats.py: the measures that say which mask pools teach "more is foreground"."""

from __future__ import annotations

import cv2
import numpy as np

from train.pool_stats import main, mask_stats


def _disc(mask: np.ndarray, centre: tuple[int, int], radius: int) -> np.ndarray:
    return cv2.circle(mask, centre, radius, 255, -1)


def test_a_centred_cutout_is_one_part_clear_of_the_sides() -> None:
    s = mask_stats(_disc(np.zeros((200, 300), np.uint8), (150, 100), 60))
    assert s.parts == 1 and not s.side and s.unsure < 0.02
    assert abs(s.coverage - np.pi * 60 * 60 / (200 * 300)) < 0.01


def test_parts_sides_and_unsure_pixels_are_each_counted() -> None:
    two = _disc(_disc(np.zeros((200, 200), np.uint8), (50, 50), 30), (150, 150), 30)
    assert mask_stats(two).parts == 2
    cut = np.zeros((200, 200), np.uint8)
    cut[:, :120] = 255  # an object cropped by the frame: its whole left side
    assert mask_stats(cut).side
    soft = np.full((200, 200), 0.5, np.float32)  # a float mask, all undecided
    s = mask_stats(soft)
    assert s.unsure == 1.0 and s.coverage == 0.0 and s.parts == 0


def test_the_command_prints_a_row_per_pool(tmp_path, capsys) -> None:
    (tmp_path / "pool" / "masks").mkdir(parents=True)
    for i in range(3):
        m = _disc(np.zeros((64, 64), np.uint8), (32, 32), 10 + i)
        cv2.imwrite(str(tmp_path / "pool" / "masks" / f"m{i}.png"), m)
    main([str(tmp_path / "pool"), "--limit", "2"])
    row = capsys.readouterr().out.splitlines()[1].split()
    n, coverage, parts, unsure, side = row[1:]
    assert (n, parts, side) == ("2", "0.000", "0.000")
    assert 0.05 < float(coverage) < 0.15 and float(unsure) < 0.01  # a disc's rim is soft
