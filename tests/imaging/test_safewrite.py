"""write_atomic: a reader sees the old file or the new one, never a part or a temporary."""

from __future__ import annotations

import os

import pytest

from bgremove.imaging.safewrite import write_atomic


def test_write_atomic(tmp_path):
    target = tmp_path / "out.png"
    write_atomic(target, b"first")
    write_atomic(target, b"second")
    assert target.read_bytes() == b"second"
    assert os.listdir(tmp_path) == ["out.png"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0600


def test_write_atomic_failure_keeps_old_file_and_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "out.png"
    target.write_bytes(b"old")

    def boom(src, dst, **kw):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.png"]
    with pytest.raises(TypeError):
        write_atomic(tmp_path / "other.png", "not bytes")  # type: ignore[arg-type]
    assert os.listdir(tmp_path) == ["out.png"]
