"""Which teacher labels are kept: the verdict on a probability map."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("joblib")
from train.label_teacher import verdict  # noqa: E402


def test_verdict_rejects_empty_full_and_undecided_maps() -> None:
    prob = np.zeros((100, 100), np.float32)
    assert verdict(prob).startswith("empty")
    assert verdict(np.ones_like(prob)).startswith("full-frame")
    prob[20:80, 20:80] = 1.0  # a 60x60 object: 3600 px
    assert verdict(prob) == ""
    prob[20:80, 20:30] = 0.6  # 600 unsure px: 0.17 of the object
    assert verdict(prob) == ""
    prob[20:80, 20:40] = 0.6  # 1200: 0.33
    assert verdict(prob).startswith("undecided")
    assert verdict(prob, max_undecided=0.35) == ""
