"""Which bundled weights are used when none are given: the int8 file where images go through the
network one at a time on a CPU, fp32 on a GPU and where different images share a batch."""

from __future__ import annotations

import pytest

from bgremove.errors import WeightsError
from bgremove.inference import backends
from bgremove.inference.backends import (
    DEFAULT_INT8_WEIGHTS_NAME,
    DEFAULT_WEIGHTS_NAME,
    default_weights,
    resolve_weights,
)


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    """Two weights folders (a checkout's, then an installed wheel's), empty at first."""
    folders = [tmp_path / "checkout", tmp_path / "wheel"]
    for d in folders:
        d.mkdir()
    monkeypatch.setattr(backends, "_weights_dirs", lambda: folders)
    monkeypatch.delenv(backends.WEIGHTS_ENV, raising=False)
    return folders


def _put(path):
    path.write_bytes(b"x")
    return path


def test_int8_by_default_and_fp32_on_request(dirs):
    fp32, int8 = _put(dirs[0] / DEFAULT_WEIGHTS_NAME), _put(dirs[0] / DEFAULT_INT8_WEIGHTS_NAME)
    assert default_weights() == resolve_weights(None) == int8
    assert default_weights(int8=False) == resolve_weights(None, int8=False) == fp32


def test_fp32_where_int8_is_missing(dirs):
    fp32 = _put(dirs[1] / DEFAULT_WEIGHTS_NAME)
    assert default_weights() == default_weights(int8=False) == fp32


def test_int8_in_any_folder_comes_before_fp32(dirs):
    _put(dirs[0] / DEFAULT_WEIGHTS_NAME)
    int8 = _put(dirs[1] / DEFAULT_INT8_WEIGHTS_NAME)
    assert default_weights() == int8


def test_environment_variable_wins_everywhere(dirs, monkeypatch, tmp_path):
    _put(dirs[0] / DEFAULT_INT8_WEIGHTS_NAME)
    mine = _put(tmp_path / "mine.onnx")
    monkeypatch.setenv(backends.WEIGHTS_ENV, str(mine))
    assert default_weights() == default_weights(int8=False) == mine


def test_no_weights_anywhere_says_so(dirs):
    with pytest.raises(WeightsError, match="pass --weights"):
        default_weights()
    _put(dirs[0] / DEFAULT_INT8_WEIGHTS_NAME)  # fp32 asked for: the int8 file is no substitute
    with pytest.raises(WeightsError, match=DEFAULT_WEIGHTS_NAME):
        default_weights(int8=False)


def test_load_backend_picks_by_where_the_images_go(dirs, monkeypatch):
    fp32, int8 = _put(dirs[0] / DEFAULT_WEIGHTS_NAME), _put(dirs[0] / DEFAULT_INT8_WEIGHTS_NAME)
    loaded = []

    class Recorder:
        def __init__(self, path, **kw):
            loaded.append(path)

    import bgremove.inference.backends.onnx as onnx_backend

    monkeypatch.setattr(onnx_backend, "OnnxBackend", Recorder)
    monkeypatch.setattr(backends, "cuda_usable", lambda: False)
    backends.load_backend(device="auto")
    backends.load_backend(device="cpu", batched=True)
    backends.load_backend(device="cuda")
    assert loaded == [int8, fp32, fp32]
