"""URLs as IN and OUT (bgremove/batch/storage.py), through fsspec's in-memory filesystem."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from bgremove.batch.driver import run
from bgremove.batch.options import RunOptions
from bgremove.batch.storage import as_location, check_urls
from bgremove.errors import ConfigError, MissingExtraError
from bgremove.imaging.outputs import OutputOptions
from bgremove.inference.testing import fake_backend


@pytest.fixture
def mem(monkeypatch, tmp_path):
    """A clean memory:// filesystem; URL OUTs keep their state under tmp_path."""
    fsspec = pytest.importorskip("fsspec")
    monkeypatch.setenv("BGREMOVE_STATE_DIR", str(tmp_path / "state"))
    fs = fsspec.filesystem("memory")
    fs.store.clear()
    fs.pseudo_dirs[:] = [""]
    yield fs
    fs.store.clear()


def _png(color, w=80, h=60) -> bytes:
    img = np.full((h, w, 3), 255, np.uint8)
    img[15:45, 20:60] = color
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def _fill(fs, tmp_path) -> None:
    files = {"a.png": _png((200, 20, 20)), "sub/b.png": _png((20, 20, 200)),
             "sub/b.jpg": _png((20, 200, 20)), ".hidden/c.png": _png((9, 9, 9)),
             "notes.txt": b"x", "bad.png": b"not a png"}
    for rel, data in files.items():
        fs.pipe_file(f"/cat/{rel}", data)
        path = tmp_path / "local" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _opts(src, dst, **kw) -> RunOptions:
    return RunOptions(src, dst, output=OutputOptions(mask=True), backend_factory=fake_backend,
                      workers=1, progress="quiet", **kw)


def test_memory_urls_give_the_local_outputs_and_resume(mem, tmp_path):
    _fill(mem, tmp_path)
    local = run(_opts(tmp_path / "local", tmp_path / "out"))
    remote = run(_opts("memory://cat", "memory://out/"))
    assert (remote.processed, remote.failed, remote.ignored) == (3, 1, 1)
    assert (local.processed, local.failed, local.ignored) == (3, 1, 1)
    names = sorted(p.relative_to(tmp_path / "out").as_posix()
                   for p in (tmp_path / "out").rglob("*") if p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(tmp_path / "out").parts))
    assert names == ["a.mask.png", "a.png", "sub/b.jpg.mask.png", "sub/b.jpg.png",
                     "sub/b.png.mask.png", "sub/b.png.png"]  # b.jpg and b.png: stems collide
    for name in names:
        assert mem.cat_file(f"/out/{name}") == (tmp_path / "out" / name).read_bytes()
    assert not list((tmp_path / "state").rglob("*.png"))  # only the manifest lives locally
    again = run(_opts("memory://cat", "memory://out"))
    assert (again.processed, again.skipped, again.failed) == (0, 3, 1)
    mem.rm_file("/out/a.mask.png")  # an output deleted from the bucket is noticed
    assert run(_opts("memory://cat", "memory://out")).processed == 1


def test_url_checks(mem, tmp_path):
    assert as_location("s3://b/x/") == "s3://b/x"  # a str: Path would fold the "//"
    with pytest.raises(ConfigError, match="not found"):
        run(_opts("memory://nothing", "memory://out"))
    mem.pipe_file("/cat/in/a.png", _png((1, 2, 3)))
    with pytest.raises(ConfigError, match="contain"):
        check_urls("memory://cat", "memory://cat/out")
    with pytest.raises(ConfigError, match="contain"):
        check_urls("memory://cat/in", "memory://cat")
    with pytest.raises(ConfigError, match="cannot open|fsspec|protocol"):
        run(_opts("nosuchproto://cat", tmp_path / "o"))


def test_url_without_fsspec_names_the_extra(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "fsspec", None)  # as if not installed
    (tmp_path / "in").mkdir()
    with pytest.raises(MissingExtraError, match=r'pip install "bgremove\[fsspec\]"'):
        run(_opts(tmp_path / "in", "s3://bucket/out"))
