"""The files in weights/: small enough to ship, self-describing, and the same network.

No data needed: these run on every machine, so a mismatched copy (an .onnx from one epoch and a
.pth from another) fails CI even where ../shared/data is absent.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bgremove.inference.backends import load_backend

WEIGHTS = Path(__file__).resolve().parents[1] / "weights"
FP32, INT8, PTH = (WEIGHTS / f"bgremove-lite0{s}" for s in (".onnx", ".int8.onnx", ".pth"))
MAX_BYTES = 40 * 1000 * 1000  # the ceiling per file


@pytest.mark.parametrize("path", [FP32, INT8, PTH], ids=lambda p: p.name)
def test_each_file_ships_under_40_mb(path):
    assert path.is_file(), f"{path} missing"
    assert path.stat().st_size < MAX_BYTES


def test_int8_carries_the_fp32_preprocessing_and_says_it_is_quantised():
    fp32, int8 = load_backend(FP32, device="cpu"), load_backend(INT8, device="cpu")
    assert int8.preprocessing == fp32.preprocessing
    meta = int8.session.get_modelmeta().custom_metadata_map
    assert meta.get("bgremove.quantization", "").startswith("int8-static-qdq")


def test_int8_weights_cannot_saturate_on_any_cpu():
    """x86 CPUs without VNNI add pairs of u8 x s8 products in 16 bits with saturation: every
    int8 weight that goes through a matrix-product convolution must be 7-bit (|w| <= 64, so
    2 x 255 x 64 < 32767), whatever CPU this test runs on. Depthwise weights may use 8 bits:
    their kernels multiply in 16 and add in 32 bits. See bgremove/modeltools/quantize.py."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(INT8)).graph
    inits = {i.name: i for i in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}
    checked = 0
    for node in graph.node:
        if node.op_type != "Conv":
            continue
        dq = producer.get(node.input[1])
        if dq is None or dq.op_type != "DequantizeLinear" or dq.input[0] not in inits:
            continue  # a conv kept in fp32
        w = numpy_helper.to_array(inits[dq.input[0]]).astype(np.int32)
        depthwise = any(a.name == "group" and a.i > 1 for a in node.attribute)
        assert w.dtype != np.uint8 and np.abs(w).max() <= (127 if depthwise else 64), node.name
        checked += 1
    assert checked > 50  # the file really is quantised


def test_int8_keeps_exactly_the_recipes_fp32_layers():
    """The shipped file was made by today's recipe (FP32_NODES), not an older one."""
    import onnx

    from bgremove.modeltools.quantize import FP32_NODES, fp32_convolutions

    fp32 = fp32_convolutions(INT8)
    assert fp32 and fp32 == {n.name for n in onnx.load(str(INT8)).graph.node
                             if n.op_type == "Conv" and n.name.startswith(FP32_NODES)}


@pytest.mark.parametrize("path", [FP32, INT8], ids=lambda p: p.name)
def test_shipped_files_average_channels_with_global_average_pool(path):
    """Exported by the current SqueezeExcite (see tests/inference/test_weights_formats.py):
    an int8 file with ReduceMean runs its network ~8% slower on the CPU."""
    import onnx

    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    assert ops.count("GlobalAveragePool") == 4 and "ReduceMean" not in ops


def test_int8_run_prints_nothing_from_onnxruntime(tmp_path):
    """onnxruntime logs 128 warnings loading the int8 file ("Removing initializer ..."): they
    must not reach a cron job's stderr. A real run in worker processes, progress quiet."""
    (tmp_path / "in").mkdir()
    for i in range(2):
        img = np.full((120, 160, 3), 240, np.uint8)
        img[30:90, 40:120] = (180, 40 * i, 60)
        Image.fromarray(img).save(tmp_path / "in" / f"p{i}.jpg")
    proc = subprocess.run(
        [sys.executable, "-m", "bgremove", "run", str(tmp_path / "in"), str(tmp_path / "out"),
         "--weights", str(INT8), "--workers", "2", "--device", "cpu", "--progress", "quiet"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(list((tmp_path / "out").glob("*.png"))) == 2
    assert "onnxruntime" not in proc.stderr and "Removing initializer" not in proc.stderr, \
        proc.stderr[:2000]


def test_pth_and_onnx_are_the_same_weights():
    pytest.importorskip("torch")
    onnx, pth = load_backend(FP32, device="cpu"), load_backend(PTH, device="cpu")
    assert pth.preprocessing == onnx.preprocessing
    x = np.random.default_rng(0).standard_normal((1, 3, 320, 320)).astype(np.float32)
    np.testing.assert_allclose(onnx.predict(x), pth.predict(x), atol=1e-3)
