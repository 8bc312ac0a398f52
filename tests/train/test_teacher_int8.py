"""The int8 teacher: a rembg-style opset-11 file comes back per-channel int8, runs through the
u2net preset and agrees with its fp32 original."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from bgremove.inference.backends.onnx import OnnxBackend  # noqa: E402
from train.teacher_int8 import calibration_photos, quantize_teacher  # noqa: E402


def _tiny_u2net_like(path: Path) -> None:
    """conv 3->8, relu, conv 8->1, sigmoid: a probability output at opset 11, like rembg's file."""
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.normal(0, 0.1, 8).astype(np.float32), "b1"),
        numpy_helper.from_array(rng.normal(0, 0.3, (1, 8, 1, 1)).astype(np.float32), "w2"),
        numpy_helper.from_array(np.zeros(1, np.float32), "b2"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"]),
        helper.make_node("Sigmoid", ["c2"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1, "H", "W"])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 7
    onnx.save(model, str(path))


@pytest.fixture
def photos(tmp_path: Path) -> list[Path]:
    rng = np.random.default_rng(1)
    folder = tmp_path / "pool"
    folder.mkdir()
    for i in range(6):
        img = np.full((96, 128, 3), rng.integers(0, 255, 3), np.uint8)
        cv2.circle(img, (64, 48), 20 + 3 * i, tuple(int(v) for v in rng.integers(0, 255, 3)), -1)
        cv2.imwrite(str(folder / f"p{i}.jpg"), img)
    (folder / "notes.txt").write_text("not a photo")
    return calibration_photos([folder], per_folder=4)


def test_calibration_photos_spread_over_each_folder(photos: list[Path]) -> None:
    assert [p.name for p in photos] == ["p0.jpg", "p1.jpg", "p2.jpg", "p3.jpg"]


def test_quantized_teacher_is_per_channel_int8_and_agrees_with_fp32(
        tmp_path: Path, photos: list[Path]) -> None:
    fp32 = tmp_path / "u2net.onnx"
    _tiny_u2net_like(fp32)
    out = quantize_teacher(fp32, tmp_path / "teachers" / "u2net-int8.onnx", photos)
    model = onnx.load(str(out))
    assert model.opset_import[0].version >= 13
    weights = {t.name: t for t in model.graph.initializer}
    assert weights["w1_quantized"].data_type == TensorProto.INT8
    assert len(numpy_helper.to_array(weights["w1_scale"])) == 8  # one scale per output channel
    assert "min/max" in {p.key: p.value for p in model.metadata_props}["bgremove.quantization"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["u2net-int8.onnx"]  # no temporaries

    a = OnnxBackend(fp32, device="cpu", preset="u2net")
    b = OnnxBackend(out, device="cpu", preset="u2net")
    x = np.random.default_rng(2).normal(0, 1, (1, 3, 320, 320)).astype(np.float32)
    pa, pb = (1 / (1 + np.exp(-m.predict(x))) for m in (a, b))
    assert np.abs(pa - pb).mean() < 0.02
    assert not np.allclose(pa, pb)  # it really is a different (rounded) network
