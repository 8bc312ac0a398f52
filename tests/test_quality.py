"""The shipped weights on a fixed sample of each validation set: a regression fails CI.

Floors are the IoU the shipped fp32 weights reached on exactly this sample (measured with this
same code, see weights/MODEL_CARD.md) minus 0.01. The int8 file ships only because its IoU is
within 0.005 of fp32 on every set, so that is what its test holds it to; it is the default on a
CPU, one image at a time (bgremove.inference.backends.default_weights).
"""

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
WEIGHTS = Path(__file__).resolve().parents[1] / "weights"
SAMPLE = 50  # images per set, evenly spaced over the sorted set (bgremove.modeltools.evaluate.select_subset)

# Reached by weights/bgremove-lite0.onnx on this sample (bgremove eval --limit 50): viton-cloth
# 0.9735, ccp 0.9592, davis 0.7473 (stage 30a's epoch 3, threshold 0.6, guided filter radius 3,
# zoom 0.7 with the crop's mirror); each floor is that minus 0.01, rounded down.
IOU_FLOORS = {
    "viton-cloth": 0.963,
    "ccp": 0.949,
    "davis": 0.737,
}
INT8_BUDGET = 0.005  # the most IoU the int8 file may lose against fp32 on any set
INT8_FILE = WEIGHTS / "bgremove-lite0.int8.onnx"


# `--mirror` (the mirror for busy scenes at the level the weights store) on the same sample:
# ccp 0.9602, davis 0.7698, viton-cloth 0.9735 (the same as without: no garment is mirrored).
MIRROR_FLOORS = {
    "ccp": 0.950,
    "davis": 0.759,
}


def _sample_iou(weights: Path | None, name: str, mirror: bool = False) -> float:
    if not (DATA / "val" / name).is_dir():
        pytest.skip(f"{DATA / 'val' / name} not found: the quality test needs ../shared/data")
    from bgremove.inference.remover import Remover
    from bgremove.modeltools.evaluate import evaluate_dirs

    remover = Remover(weights, mirror_busy=None if mirror else 0.0)
    results = evaluate_dirs(remover.mask, [DATA / "val" / name], limit=SAMPLE, progress=False)
    assert results[name]["n"] == SAMPLE
    return results[name]["iou"]


@pytest.fixture(scope="module")
def fp32_iou():
    """IoU of the fp32 weights per set, computed once for both tests."""
    from bgremove.inference.backends import default_weights

    fp32 = default_weights(int8=False)
    if not fp32.is_file():
        pytest.fail(f"bundled weights missing: {fp32}")
    cache: dict[str, float] = {}

    def get(name: str) -> float:
        if name not in cache:
            cache[name] = _sample_iou(fp32, name)
        return cache[name]

    return get


@pytest.mark.parametrize("name", sorted(IOU_FLOORS))
def test_shipped_weights_keep_their_validation_iou(name, fp32_iou):
    assert fp32_iou(name) >= IOU_FLOORS[name]


@pytest.mark.parametrize("name", sorted(IOU_FLOORS))
def test_int8_weights_stay_within_budget_of_fp32(name, fp32_iou):
    """The int8 file is what a run on a CPU uses when no --weights is given."""
    from bgremove.inference.backends import default_weights

    if not INT8_FILE.is_file():
        pytest.fail(f"{INT8_FILE} missing: it ships beside the fp32 file")
    assert default_weights() == INT8_FILE
    int8 = _sample_iou(None, name)
    assert int8 >= fp32_iou(name) - INT8_BUDGET, (int8, fp32_iou(name))


@pytest.mark.parametrize("name", sorted(MIRROR_FLOORS))
def test_the_mirror_keeps_its_validation_iou_on_scenes(name):
    from bgremove.inference.backends import default_weights

    assert _sample_iou(default_weights(int8=False), name, mirror=True) >= MIRROR_FLOORS[name]


def test_the_mirror_leaves_studio_shots_as_they_were(fp32_iou):
    from bgremove.inference.backends import default_weights

    assert _sample_iou(default_weights(int8=False), "viton-cloth", mirror=True) == fp32_iou(
        "viton-cloth")
