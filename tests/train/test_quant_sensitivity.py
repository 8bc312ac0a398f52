"""The int8 sensitivity sweep's layer groups cover every convolution exactly once."""

import pytest

pytest.importorskip("torch")

from tiny_model import make_tiny_onnx  # noqa: E402

from train.quant_sensitivity import layer_groups, recipes  # noqa: E402


def test_every_convolution_is_in_exactly_one_group(tmp_path):
    import onnx

    _, path = make_tiny_onnx(tmp_path)
    groups = layer_groups(path)
    convs = [n.name for n in onnx.load(str(path)).graph.node if n.op_type == "Conv"]
    assert groups[0] == "/encoder/_conv_stem/" and groups[-1] == "/head/"
    assert all(sum(c.startswith(g) for g in groups) == 1 for c in convs)
    pair = "/encoder/_conv_stem/,/encoder/_blocks.0/"
    named = recipes(path, [pair])
    assert named["all int8"] == () and named[pair] == tuple(pair.split(","))
    assert len(recipes(path, [pair], sweep=False)) == 3
