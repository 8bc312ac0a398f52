"""Static int8 export on a tiny model: which layers stay fp32, and one calibration for many recipes."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from bgremove.modeltools.quantize import fp32_convolutions as fp32_convs  # noqa: E402
from bgremove.modeltools.quantize import quantize_int8  # noqa: E402


def test_the_named_layers_and_only_those_stay_fp32(model_and_photos, tmp_path):
    onnx_path, photos = model_and_photos
    stem = ("/encoder/_conv_stem/",)
    report = quantize_int8(onnx_path, tmp_path / "a.onnx", photos, 6, fp32_nodes=stem)
    assert fp32_convs(tmp_path / "a.onnx") == {"/encoder/_conv_stem/Conv"}
    quantize_int8(onnx_path, tmp_path / "b.onnx", photos, 6, fp32_nodes=())
    assert fp32_convs(tmp_path / "b.onnx") == set()
    assert report.images == 6 and 0 <= report.mean_abs_diff < 0.1 and report.mean_iou > 0.5


def test_a_calibration_cache_is_written_once_and_reused(model_and_photos, tmp_path):
    onnx_path, photos = model_and_photos
    cache = tmp_path / "ranges.json"
    quantize_int8(onnx_path, tmp_path / "a.onnx", photos, 6, calibration_cache=cache)
    assert cache.is_file()
    written = cache.stat().st_mtime_ns
    quantize_int8(onnx_path, tmp_path / "b.onnx", photos, 6, fp32_nodes=(), calibration_cache=cache)
    assert cache.stat().st_mtime_ns == written
    assert fp32_convs(tmp_path / "b.onnx") == set()


def _input_scale(path) -> float:
    """The quantisation scale of the network's input, as calibration set it."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    inits = {i.name: i for i in graph.initializer}
    node = next(n for n in graph.node if n.op_type == "QuantizeLinear" and n.input[0] == graph.input[0].name)
    return float(numpy_helper.to_array(inits[node.input[1]]))


def test_minmax_calibration_keeps_the_full_range_a_percentile_clips(model_and_photos, tmp_path):
    onnx_path, photos = model_and_photos
    quantize_int8(onnx_path, tmp_path / "full.onnx", photos, 6, fp32_nodes=(), percentile=None)
    quantize_int8(onnx_path, tmp_path / "clip.onnx", photos, 6, fp32_nodes=(), percentile=90.0)
    # Uniform noise photos, normalised: MinMax spans every value, the 90th percentile a part of them.
    assert _input_scale(tmp_path / "full.onnx") > 1.05 * _input_scale(tmp_path / "clip.onnx")


def test_calibration_reads_the_photos_in_equal_chunks(model_and_photos, tmp_path, monkeypatch):
    from bgremove.modeltools import quantize

    onnx_path, photos = model_and_photos
    reads = []
    original = quantize.model_inputs

    def counted(files, pre):
        reads.append(len(files))
        return original(files, pre)

    monkeypatch.setattr(quantize, "model_inputs", counted)
    report = quantize_int8(onnx_path, tmp_path / "a.onnx", photos, 6, chunk_images=4)
    assert reads.count(3) == 2  # 6 photos: the largest even chunk of at most 4 is 3
    assert report.mean_iou > 0.5
    assert [quantize.calibration_chunk(n, 16) for n in (64, 96, 17, 1)] == [16, 16, 1, 1]
