"""The README's first command works with nothing but the repository: it runs on the bundled
samples/ (small, with a recorded source and licence for every photo) and the bundled weights,
and its `bgremove` steps succeed as written (the pip install part is what a fresh clone adds)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from bgremove.imaging.formats import is_image_name

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"


def _first_command() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.search(r"```bash\n(.+?)\n```", text, re.S).group(1).strip()


def test_samples_are_small_and_every_photo_has_its_source_and_licence():
    photos = sorted(p for p in SAMPLES.iterdir() if is_image_name(p.name))
    assert len(photos) >= 4
    assert sum(p.stat().st_size for p in SAMPLES.iterdir()) < 500_000  # well under 1 MB
    notes = (SAMPLES / "README.md").read_text(encoding="utf-8")
    for photo in photos:  # each named in the table that gives its source and licence
        assert f"| `{photo.name}` |" in notes, photo.name
    assert "CC0" in notes


def test_the_readmes_first_command_runs_on_the_repository_alone(tmp_path):
    steps = [shlex.split(s) for s in _first_command().split("&&")]
    assert steps[0][:3] == ["python3", "-m", "venv"] and ["pip", "install", "."] in steps
    runs = [s for s in steps if s[0] == "bgremove"]
    assert [s[1] for s in runs] == ["run", "review"]
    shutil.copytree(SAMPLES, tmp_path / "samples")  # a clone's files, run where it would run
    for step in runs:
        done = subprocess.run([sys.executable, "-m", "bgremove", *step[1:], "--progress", "quiet"]
                              if step[1] == "run" else [sys.executable, "-m", "bgremove", *step[1:]],
                              cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, (step, done.stderr[-2000:])
    out = tmp_path / runs[0][3]
    photos = [p for p in SAMPLES.iterdir() if is_image_name(p.name)]
    assert sorted(p.name for p in out.glob("*.png")) == sorted(p.stem + ".png" for p in photos)
    assert (out / "review.html").is_file()
