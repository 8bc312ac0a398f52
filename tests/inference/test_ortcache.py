"""onnxruntime's optimised graph cached per machine: the same outputs, and never in the way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tiny_model import make_tiny_onnx

from bgremove.inference.backends import import_onnxruntime
from bgremove.inference.backends.onnx import OnnxBackend
from bgremove.inference.backends.ortcache import cache_folder

WEIGHTS_INT8 = Path(__file__).resolve().parents[2] / "weights" / "bgremove-lite0.int8.onnx"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BGREMOVE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "ort"


def _input(shape=(2, 3, 96, 64)):
    return np.random.default_rng(0).uniform(-2, 2, shape).astype(np.float32)


def _outputs(path):
    return OnnxBackend(path, device="cpu", threads=1).predict(_input())


@pytest.mark.parametrize("which", ["tiny", "shipped int8"])
def test_a_session_from_the_cache_gives_the_same_outputs(tmp_path, cache, which):
    path = make_tiny_onnx(tmp_path)[1] if which == "tiny" else WEIGHTS_INT8
    plain = _plain_outputs(path)
    first = _outputs(path)  # makes the cache file
    files = list(cache.glob("*.onnx"))
    assert cache_folder() == cache and len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    again = _outputs(path)  # loads it
    assert files[0].stat().st_mtime_ns == stamp and list(cache.iterdir()) == files
    assert np.array_equal(first, plain) and np.array_equal(again, plain)


def _plain_outputs(path):
    ort = import_onnxruntime()
    x = _input()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    out = session.run(None, {session.get_inputs()[0].name: x})[0]
    return out.reshape(out.shape[0], 1, *out.shape[-2:])


def test_a_damaged_cache_file_is_made_again(tmp_path, cache):
    path = make_tiny_onnx(tmp_path)[1]
    expected = _outputs(path)
    (cached,) = cache.glob("*.onnx")
    cached.write_bytes(b"not a model")
    assert np.array_equal(_outputs(path), expected)
    assert cached.stat().st_size > 1000 and list(cache.iterdir()) == [cached]


def test_other_weights_get_their_own_file_and_the_cache_can_be_turned_off(tmp_path, cache,
                                                                            monkeypatch):
    import onnx

    a = make_tiny_onnx(tmp_path)[1]
    b, c = tmp_path / "b.onnx", tmp_path / "c.onnx"
    for copy, note in ((b, "b"), (c, "c")):  # other bytes, the same network
        model = onnx.load(str(a))
        model.doc_string = note
        onnx.save(model, str(copy))
    _outputs(a), _outputs(b)
    assert len(list(cache.glob("*.onnx"))) == 2
    monkeypatch.setenv("BGREMOVE_ORT_CACHE", "0")
    _outputs(c)
    assert len(list(cache.glob("*.onnx"))) == 2


def test_no_writable_cache_folder_is_no_error(tmp_path, monkeypatch):
    blocker = tmp_path / "a file"
    blocker.write_text("")
    monkeypatch.setenv("BGREMOVE_CACHE_DIR", str(blocker))  # ort/ cannot be made under a file
    path = make_tiny_onnx(tmp_path)[1]
    assert np.array_equal(_outputs(path), _plain_outputs(path))
