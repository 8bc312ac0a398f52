"""The files in weights/: small enough to ship, self-describing, and the same network.

No data needed: these run on every machine, so a mismatched copy (an .onnx from one epoch and a
.pth from another) fails CI even where ../shared/data is absent.
"""

from pathlib import Path

import numpy as np
import pytest

from bgremove.backends import load_backend

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
    assert meta.get("bgremove.quantization") == "int8-static-qdq"


def test_pth_and_onnx_are_the_same_weights():
    pytest.importorskip("torch")
    onnx, pth = load_backend(FP32, device="cpu"), load_backend(PTH, device="cpu")
    assert pth.preprocessing == onnx.preprocessing
    x = np.random.default_rng(0).standard_normal((1, 3, 320, 320)).astype(np.float32)
    np.testing.assert_allclose(onnx.predict(x), pth.predict(x), atol=1e-3)
