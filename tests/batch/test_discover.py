"""Discovery: which files are images, in what order, where their outputs go, what is refused."""

from __future__ import annotations

import os
import types
from pathlib import Path

import pytest

from bgremove.batch.discover import DiscoveryStats, count_images, iter_images, output_paths
from bgremove.batch.options import RunOptions, check_paths
from bgremove.errors import ConfigError
from bgremove.imaging.formats import is_image_name


def _touch(root: Path, rel: str, data: bytes = b"x") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", ["a.jpg", "b.JPEG", "c.Png", "d.webp", "e.BMP", "f.tif", "g.TIFF"])
def test_image_extensions_any_case(name):
    assert is_image_name(name)


@pytest.mark.parametrize("name", ["a.txt", "b.gif", "c.jpg.bak", "README", "d.pdf", "jpg"])
def test_other_names_are_not_images(name):
    assert not is_image_name(name)


def test_recursive_sorted_and_counts(tmp_path):
    for rel in ["b.jpg", "a.PNG", "sub/z.webp", "sub/deeper/y.tif", "sub/a.bmp", "aa/x.jpeg",
                "notes.txt", "sub/readme.md", ".hidden.jpg", ".cache/c.jpg"]:
        _touch(tmp_path, rel)
    stats = DiscoveryStats()
    rels = [f.rel for f in iter_images(tmp_path, stats)]
    # files before subfolders, each level sorted by name; hidden folders are not entered
    assert rels == ["a.PNG", "b.jpg", "aa/x.jpeg", "sub/a.bmp", "sub/z.webp", "sub/deeper/y.tif"]
    assert stats.images == 6
    assert stats.ignored == 3  # notes.txt, readme.md, .hidden.jpg
    assert count_images(tmp_path) == 6


def test_discovery_is_lazy(tmp_path):
    for i in range(5):
        _touch(tmp_path, f"d{i}/img.jpg")
    gen = iter_images(tmp_path)
    assert isinstance(gen, types.GeneratorType)
    first = next(gen)
    assert first.rel == "d0/img.jpg"


def test_size_and_mtime_recorded(tmp_path):
    p = _touch(tmp_path, "a.jpg", b"12345")
    os.utime(p, ns=(1_000_000_000, 2_000_000_123))
    (found,) = iter_images(tmp_path)
    assert (found.size, found.mtime_ns, found.stem, found.error) == (5, 2_000_000_123, "a", None)


def test_same_stem_in_one_folder_uses_full_name(tmp_path):
    _touch(tmp_path, "a.jpg")
    _touch(tmp_path, "A.png")
    _touch(tmp_path, "b.jpg")
    _touch(tmp_path, "sub/a.jpg")
    stems = {f.rel: f.stem for f in iter_images(tmp_path)}
    assert stems == {"A.png": "A.png", "a.jpg": "a.jpg", "b.jpg": "b", "sub/a.jpg": "a"}


def test_broken_symlink_is_reported_not_skipped(tmp_path):
    os.symlink(tmp_path / "missing.jpg", tmp_path / "link.jpg")
    (found,) = iter_images(tmp_path)
    assert found.rel == "link.jpg" and "cannot stat" in found.error


def test_symlinked_folders_are_not_followed(tmp_path):
    _touch(tmp_path, "real/a.jpg")
    os.symlink(tmp_path / "real", tmp_path / "loop")
    assert [f.rel for f in iter_images(tmp_path)] == ["real/a.jpg"]


def test_output_paths_mirror_the_tree(tmp_path):
    _touch(tmp_path / "in", "x/y/shoe.jpg")
    (found,) = iter_images(tmp_path / "in")
    outs = output_paths(tmp_path / "out", found, {"cutout": "shoe.png", "mask": "shoe.mask.png"})
    assert outs == {"cutout": str(tmp_path / "out/x/y/shoe.png"),
                    "mask": str(tmp_path / "out/x/y/shoe.mask.png")}


@pytest.mark.parametrize("out_rel", ["in", "in/out", "in/a/b"])
def test_out_inside_in_is_refused(tmp_path, out_rel):
    (tmp_path / "in").mkdir()
    with pytest.raises(ConfigError, match="inside"):
        check_paths(RunOptions(tmp_path / "in", tmp_path / out_rel))


def test_out_inside_in_through_symlink_is_refused(tmp_path):
    (tmp_path / "in").mkdir()
    os.symlink(tmp_path / "in", tmp_path / "alias")
    with pytest.raises(ConfigError):
        check_paths(RunOptions(tmp_path / "in", tmp_path / "alias" / "out"))


def test_in_inside_out_is_refused(tmp_path):
    (tmp_path / "out" / "in").mkdir(parents=True)
    with pytest.raises(ConfigError, match="contain"):
        check_paths(RunOptions(tmp_path / "out" / "in", tmp_path / "out"))


def test_missing_input_and_report_inside_input(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        check_paths(RunOptions(tmp_path / "nope", tmp_path / "out"))
    (tmp_path / "in").mkdir()
    with pytest.raises(ConfigError, match="report"):
        check_paths(RunOptions(tmp_path / "in", tmp_path / "out", report=tmp_path / "in/r.jsonl"))


def test_sibling_with_common_prefix_is_allowed(tmp_path):
    (tmp_path / "photos").mkdir()
    in_dir, out_dir = check_paths(RunOptions(tmp_path / "photos", tmp_path / "photos-out"))
    assert out_dir == (tmp_path / "photos-out").resolve()


@pytest.mark.parametrize("kw,match", [({"device": "tpu"}, "device"), ({"workers": 0}, "workers"),
                                      ({"batch_size": 0}, "batch_size"),
                                      ({"progress": "loud"}, "progress")])
def test_invalid_options_are_config_errors(tmp_path, kw, match):
    with pytest.raises(ConfigError, match=match):
        RunOptions(tmp_path, tmp_path / "o", **kw).validate()


def test_threads_default_to_cores_per_worker(tmp_path):
    opts = RunOptions(tmp_path, tmp_path / "o", workers=1)
    assert opts.n_threads() >= 1
    assert RunOptions(tmp_path, tmp_path / "o", workers=10_000).n_threads() == 1
    assert RunOptions(tmp_path, tmp_path / "o", threads=3).n_threads() == 3
