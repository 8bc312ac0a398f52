"""Bias correction of int8 weight rounding: the shift formula against torch's convolution, and on a
tiny model, that the corrected int8 file rounds the same weights and moves its output less."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from bgremove.modeltools.biascorrect import bias_shift, correct_biases, dequantised_weights  # noqa: E402
from bgremove.modeltools.quantize import fp32_convolutions, model_inputs, quantize_int8  # noqa: E402


@pytest.mark.parametrize(("channels", "outputs", "group"), [(4, 6, 1), (4, 6, 2), (5, 5, 5)])
def test_the_shift_is_the_mean_output_change_of_the_moved_weights(channels, outputs, group):
    import torch

    rng = np.random.default_rng(group)
    weight = rng.normal(size=(outputs, channels // group, 3, 3))
    moved = weight + rng.normal(scale=0.05, size=weight.shape)
    bias = rng.normal(size=outputs)
    means = rng.uniform(0.2, 3.0, size=channels)
    # An input whose channels are constant at their means: every interior output is the mean output.
    x = torch.tensor(np.broadcast_to(means[None, :, None, None], (1, channels, 7, 7)).copy())

    def conv(w, b):
        return torch.nn.functional.conv2d(x, torch.tensor(w), torch.tensor(b), groups=group)[0, :, 2, 2]

    corrected = bias - bias_shift(moved - weight, means, group)
    np.testing.assert_allclose(conv(moved, corrected).numpy(), conv(weight, bias).numpy(), atol=1e-9)
    assert not np.allclose(conv(moved, bias).numpy(), conv(weight, bias).numpy(), atol=1e-3)


@pytest.fixture(scope="module")
def tiny(model_and_photos, tmp_path_factory):
    onnx_path, photos = model_and_photos
    plain = tmp_path_factory.mktemp("bc") / "plain.int8.onnx"
    quantize_int8(onnx_path, plain, photos, 6, bias_correction=False)
    return onnx_path, photos, plain


def _initialisers(path) -> dict[str, np.ndarray]:
    import onnx
    from onnx import numpy_helper

    return {i.name: numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}


def test_the_rounded_weights_are_the_int8_files_within_half_a_step(tiny):
    import onnx

    onnx_path, _, plain = tiny
    rounded = dequantised_weights(plain)
    graph = onnx.load(str(onnx_path)).graph
    convs = {n.name: n.input[1] for n in graph.node if n.op_type == "Conv"}
    assert set(rounded) == set(convs) - fp32_convolutions(plain) and rounded
    fp32 = _initialisers(onnx_path)
    for name, w in rounded.items():
        error = np.abs(w - fp32[convs[name]]).reshape(len(w), -1).max(axis=1)
        step = np.abs(fp32[convs[name]]).reshape(len(w), -1).max(axis=1) / 63  # 7 bits at most
        assert np.all(error <= step / 2 + 1e-6) and error.max() > 0


def _weights_rounded(fp32_path, int8_path, out):
    """The fp32 file with the int8 file's rounded weights in place of its own: rounding alone."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(fp32_path))
    inits = {i.name: i for i in model.graph.initializer}
    rounded = dequantised_weights(int8_path)
    for node in model.graph.node:
        w = rounded.get(node.name)
        if w is not None:
            inits[node.input[1]].CopyFrom(numpy_helper.from_array(w.astype(np.float32), node.input[1]))
    onnx.save(model, str(out))
    return out


def test_corrected_biases_take_the_mean_of_the_rounding_out_of_the_output(tiny, tmp_path):
    from bgremove.inference.backends.onnx import OnnxBackend
    from bgremove.modeltools.quantize import calibration_images

    onnx_path, photos, plain = tiny
    fp32 = OnnxBackend(onnx_path, device="cpu")
    files = calibration_images(photos, 6)
    corrected = tmp_path / "corrected.onnx"
    assert correct_biases(onnx_path, plain, model_inputs(files, fp32.preprocessing), corrected) > 0

    def mean_output_change(path):
        model = OnnxBackend(path, device="cpu")
        diffs = [model.predict(b) - fp32.predict(b) for b in model_inputs(files, fp32.preprocessing)]
        return abs(float(np.mean(diffs)))

    rounded = mean_output_change(_weights_rounded(onnx_path, plain, tmp_path / "r.onnx"))
    fixed = mean_output_change(_weights_rounded(corrected, plain, tmp_path / "rc.onnx"))
    assert fixed < 0.5 * rounded


def test_the_corrected_int8_file_rounds_the_same_weights_and_says_so(tiny, tmp_path):
    from bgremove.inference.backends.onnx import OnnxBackend

    onnx_path, photos, plain = tiny
    fixed = tmp_path / "fixed.int8.onnx"
    quantize_int8(onnx_path, fixed, photos, 6)
    before, after = _initialisers(plain), _initialisers(fixed)
    # Quantised weights are int8 initialisers, quantised biases int32 ones.
    weights = [n for n in before if n.endswith("_quantized") and before[n].dtype == np.int8]
    biases = [n for n in before if n.endswith("_quantized") and before[n].dtype == np.int32]
    assert weights and all(np.array_equal(before[n], after[n]) for n in weights)
    assert biases and any(not np.array_equal(before[n], after[n]) for n in biases)

    def recipe(path):
        meta = OnnxBackend(path, device="cpu").session.get_modelmeta().custom_metadata_map
        return meta["bgremove.quantization"]

    assert "biases corrected" in recipe(fixed) and "biases corrected" not in recipe(plain)
