"""One image: `bgremove run photo.jpg OUT_DIR` and the pipe `cat photo.jpg | bgremove run - - >
photo.png` give the bytes the folder run writes for that image (the bundled weights, the
repository's sample photos, real processes with real stdin and stdout)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
BGREMOVE = [sys.executable, "-m", "bgremove"]


def _bgremove(*args, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*BGREMOVE, *map(str, args)], input=stdin, capture_output=True,
                          timeout=300)


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory):
    """The sample folder through a plain folder run, with a composite too."""
    root = tmp_path_factory.mktemp("one")
    src = root / "in"
    shutil.copytree(SAMPLES, src, ignore=shutil.ignore_patterns("*.md"))
    done = _bgremove("run", src, root / "folder", "--bg-color", "white", "--progress", "quiet")
    assert done.returncode == 0, done.stderr.decode()
    return root


@pytest.mark.parametrize("name", ["coffee.jpg", "astronaut.jpg"])
def test_one_image_and_pipes_give_the_folder_runs_bytes(folder_run, name):
    src, folder = folder_run / "in", folder_run / "folder"
    stem = Path(name).stem
    single = folder_run / f"single-{stem}"
    done = _bgremove("run", src / name, single, "--bg-color", "white", "--progress", "quiet")
    assert done.returncode == 0, done.stderr.decode()
    assert sorted(p.name for p in single.iterdir() if not p.name.startswith(".")) == [
        f"{stem}.jpg", f"{stem}.png"]
    for out in ("png", "jpg"):
        assert (single / f"{stem}.{out}").read_bytes() == (folder / f"{stem}.{out}").read_bytes()
    data = (src / name).read_bytes()
    piped = _bgremove("run", "-", "-", stdin=data)  # cat photo.jpg | bgremove run - - > photo.png
    assert piped.returncode == 0, piped.stderr.decode()
    assert piped.stdout == (folder / f"{stem}.png").read_bytes()
    composite = _bgremove("run", src / name, "-", "--no-cutout", "--bg-color", "white")
    assert composite.returncode == 0, composite.stderr.decode()
    assert composite.stdout == (folder / f"{stem}.jpg").read_bytes()


def test_pipe_errors_write_nothing_to_stdout():
    bad = _bgremove("run", "-", "-", stdin=b"not an image")
    assert bad.returncode == 1 and bad.stdout == b"" and b"not an image" in bad.stderr
    two = _bgremove("run", "-", "-", "--mask", stdin=(SAMPLES / "coffee.jpg").read_bytes())
    assert two.returncode == 2 and two.stdout == b"" and b"one output" in two.stderr
    nowhere = _bgremove("run", "-", "out-never-made", stdin=b"x")
    assert nowhere.returncode == 2 and not Path("out-never-made").exists()


def test_one_image_beside_itself_and_refusing_to_replace_it(tmp_path):
    from bgremove.batch.driver import run
    from bgremove.batch.options import RunOptions
    from bgremove.errors import ConfigError
    from bgremove.inference.testing import fake_backend

    shutil.copy(SAMPLES / "rocket.jpg", tmp_path / "rocket.jpg")
    options = RunOptions(tmp_path / "rocket.jpg", tmp_path, backend_factory=fake_backend,
                         progress="quiet")
    assert run(options).processed == 1 and (tmp_path / "rocket.png").is_file()
    assert run(options).skipped == 1  # resumable like a folder run
    shutil.copy(tmp_path / "rocket.png", tmp_path / "cut.png")
    with pytest.raises(ConfigError, match="replace the input"):
        run(RunOptions(tmp_path / "cut.png", tmp_path, backend_factory=fake_backend))
    with pytest.raises(ConfigError, match="folder"):
        run(RunOptions(tmp_path / "rocket.jpg", tmp_path / "o", stale="list",
                       backend_factory=fake_backend))
