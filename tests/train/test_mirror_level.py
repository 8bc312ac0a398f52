"""train.mirror: the table each level would give, and the rule that picks one."""

from __future__ import annotations

import pytest

from train.mirror import EVERY, pick_level, tabulate


def _m(iou: float, mae: float = 0.05, bf: float = 0.8) -> dict:
    return {"iou": iou, "mae": mae, "boundary_f": bf}


# (set, backdrop busyness, never mirrored, mirrored): the mirror helps the busy photos only
ROWS = [
    ("a", 1.0, _m(0.95), _m(0.95)),
    ("a", 10.0, _m(0.70), _m(0.74)),
    ("b", 3.0, _m(0.90), _m(0.89)),
    ("b", 20.0, _m(0.60), _m(0.66)),
]


def test_each_level_mirrors_the_photos_at_or_above_it() -> None:
    table = tabulate(ROWS, (5.0, 15.0))
    assert list(table) == [0.0, EVERY, 5.0, 15.0]
    assert table[0.0]["a"]["mirrored"] == 0.0
    assert table[5.0]["a"]["mirrored"] == 0.5 and table[5.0]["b"]["mirrored"] == 0.5
    assert table[15.0]["a"]["mirrored"] == 0.0 and table[15.0]["b"]["mirrored"] == 0.5
    assert table[EVERY]["b"]["mirrored"] == 1.0
    assert table[5.0]["a"]["iou"] == pytest.approx((0.95 + 0.74) / 2)
    assert table[EVERY]["b"]["iou"] == pytest.approx((0.89 + 0.66) / 2)


def test_the_rule_takes_the_fewest_mirrored_photos_within_the_tolerance() -> None:
    table = tabulate(ROWS, (5.0, 15.0))
    # 5 is the best; 15 gives up a's gain (0.01 of the mean): beyond the tolerance
    assert pick_level(table) == 5.0


def test_never_wins_when_the_mirror_gains_nothing_worth_a_call() -> None:
    rows = [("a", 30.0, _m(0.80), _m(0.8004)), ("a", 1.0, _m(0.9), _m(0.9))]
    assert pick_level(tabulate(rows, (5.0,))) == 0.0


def test_a_worse_mae_or_boundary_refuses_the_mirror() -> None:
    rows = [("a", 30.0, _m(0.80), _m(0.84, mae=0.06))]
    assert pick_level(tabulate(rows, (5.0,))) == 0.0
    rows = [("a", 30.0, _m(0.80), _m(0.84, bf=0.7))]
    assert pick_level(tabulate(rows, (5.0,))) == 0.0
