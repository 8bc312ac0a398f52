"""The shipped weights on a fixed sample of each validation set: a regression fails CI.

Floors are the IoU the shipped weights reached on exactly this sample (measured with this same
code, see weights/MODEL_CARD.md) minus 0.01.
"""

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SAMPLE = 50  # images per set, evenly spaced over the sorted set (bgremove.evaluate.select_subset)

# Reached by weights/bgremove-lite0.onnx on this sample (bgremove eval --limit 50): viton-cloth
# 0.9702, ccp 0.9385, davis 0.6869 (on the square canvas, Preprocessing.pad_square); each floor
# is that minus 0.01, rounded down.
IOU_FLOORS = {
    "viton-cloth": 0.960,
    "ccp": 0.928,
    "davis": 0.676,
}


@pytest.fixture(scope="module")
def remover():
    from bgremove.api import Remover
    from bgremove.backends import default_weights
    from bgremove.errors import WeightsError

    try:
        default_weights()
    except WeightsError as exc:
        pytest.fail(f"bundled weights missing: {exc}")
    return Remover()


@pytest.mark.parametrize("name", sorted(IOU_FLOORS))
def test_shipped_weights_keep_their_validation_iou(name, remover):
    if not (DATA / "val" / name).is_dir():
        pytest.skip(f"{DATA / 'val' / name} not found: the quality test needs ../shared/data")
    from bgremove.evaluate import evaluate_dirs

    results = evaluate_dirs(remover.mask, [DATA / "val" / name], limit=SAMPLE, progress=False)
    assert results[name]["n"] == SAMPLE
    assert results[name]["iou"] >= IOU_FLOORS[name], results[name]
