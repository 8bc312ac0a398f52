"""Checkpoint and ONNX formats: metadata round trips, .pth vs ONNX agreement, clear errors."""

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("torch")

from tiny_model import TINY_PRE, make_tiny_checkpoint, make_tiny_onnx  # noqa: E402

from bgremove.errors import ConfigError, MissingExtraError, WeightsError  # noqa: E402
from bgremove.inference.backends import load_backend  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_onnx(tmp_path_factory.mktemp("tiny"))


def test_checkpoint_round_trip_rebuilds_the_same_network(tmp_path):
    import torch

    from bgremove.inference.preprocess import Preprocessing
    from bgremove.model.checkpoint import load_checkpoint

    path = make_tiny_checkpoint(tmp_path / "a.pth", seed=3)
    model, ckpt = load_checkpoint(path)
    again, _ = load_checkpoint(path)
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        assert torch.equal(model(x), again(x))
    assert Preprocessing.from_dict(ckpt["preprocessing"]) == TINY_PRE
    assert ckpt["model_args"]["encoder"] == "tiny"


def test_onnx_metadata_carries_preprocessing(tiny):
    _, onnx_path = tiny
    backend = load_backend(onnx_path)
    assert backend.name == "onnx"
    assert backend.preprocessing == TINY_PRE


@pytest.mark.parametrize("shape", [(1, 3, 64, 64), (3, 3, 96, 160), (1, 3, 224, 32)])
def test_pth_and_onnx_agree(tiny, shape):
    pth, onnx_path = tiny
    x = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    a = load_backend(pth, device="cpu").predict(x)
    b = load_backend(onnx_path, device="cpu").predict(x)
    assert a.shape == b.shape == (shape[0], 1, *shape[2:])
    assert np.abs(a - b).max() < 1e-4
    assert a.std() > 1e-3  # the outputs vary, so agreement means something


def test_export_reports_agreement(tmp_path):
    from bgremove.modeltools.export import export_onnx

    pth = make_tiny_checkpoint(tmp_path / "m.pth")
    report = export_onnx(pth, tmp_path / "m.onnx")
    assert report.max_abs_diff < 1e-4
    assert (tmp_path / "m.onnx").stat().st_size > 0
    assert not list(tmp_path.glob("*.tmp"))


def test_squeeze_excite_exports_as_global_average_pool(tiny):
    """The SE blocks' channel means must reach onnxruntime as GlobalAveragePool: the ReduceMean
    that x.mean((2, 3)) exports to took ~2.6 of an int8 network call's ~37 ms on an AVX2 CPU,
    GlobalAveragePool a tenth of that, for the same outputs."""
    import onnx

    ops = [n.op_type for n in onnx.load(str(tiny[1])).graph.node]
    assert "GlobalAveragePool" in ops and "ReduceMean" not in ops


def test_missing_empty_and_corrupt_weights_raise_weights_error(tmp_path):
    with pytest.raises(WeightsError, match="not found"):
        load_backend(tmp_path / "nope.onnx")
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(WeightsError, match="empty"):
        load_backend(empty)
    for name in ("corrupt.onnx", "corrupt.pth"):
        bad = tmp_path / name
        bad.write_bytes(b"\x00garbage" * 100)
        with pytest.raises(WeightsError, match="corrupt|cannot"):
            load_backend(bad)
    odd = tmp_path / "model.bin"
    odd.write_bytes(b"x")
    with pytest.raises(WeightsError, match="unknown weights format"):
        load_backend(odd)
    assert issubclass(WeightsError, ConfigError)  # the CLI maps both to exit code 2


def test_foreign_onnx_needs_a_preset(tiny, tmp_path):
    import onnx

    _, onnx_path = tiny
    model = onnx.load(str(onnx_path))
    del model.metadata_props[:]
    bare = tmp_path / "custom.onnx"
    onnx.save(model, str(bare))
    with pytest.raises(WeightsError, match="--preset"):
        load_backend(bare)
    backend = load_backend(bare, preset="u2net")
    assert backend.preprocessing.square and backend.preprocessing.output == "prob"
    named = tmp_path / "u2netp.onnx"
    onnx.save(model, str(named))
    assert load_backend(named).preprocessing.input_size == 320


def test_cuda_request_without_cuda_is_a_loud_error(tiny):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="CUDA"):
        load_backend(tiny[1], device="cuda")


def test_pth_without_torch_names_the_install_line(tiny):
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from bgremove.inference.backends import load_backend\n"
        "from bgremove.errors import MissingExtraError\n"
        f"try:\n    load_backend({str(tiny[0])!r})\n"
        "except MissingExtraError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 'pip install "bgremove[torch]"' in out.stdout
    assert MissingExtraError  # the type the CLI reports with exit code 2


def test_import_bgremove_is_light():
    code = (
        "import sys, bgremove, bgremove.inference.preprocess, bgremove.errors\n"
        "heavy = [m for m in ('torch', 'onnxruntime', 'typer') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_version_answers_without_heavy_imports():
    code = (
        "import sys; sys.argv = ['bgremove', '--version']\n"
        "from bgremove.__main__ import main; main()\n"
        "assert 'typer' not in sys.modules and 'torch' not in sys.modules\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("bgremove ")
