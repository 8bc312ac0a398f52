"""`--dry-run` lists what a run would do and why, writes nothing, and agrees with the run;
`--include` / `--exclude` choose the images without changing any output's name."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bgremove.batch.driver import run
from bgremove.batch.dryrun import dry_run
from bgremove.batch.options import RunOptions
from bgremove.batch.select import Selection
from bgremove.imaging.outputs import OutputOptions
from bgremove.inference.testing import fake_backend


def _product(path: Path, colour=(200, 30, 30)) -> None:
    img = np.full((64, 80, 3), 255, np.uint8)
    img[16:48, 20:60] = colour
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)


def _opts(tmp_path: Path, **kw) -> RunOptions:
    kw.setdefault("output", OutputOptions(bg_color="white"))
    return RunOptions(tmp_path / "in", tmp_path / "out", backend_factory=fake_backend, workers=1,
                      progress="quiet", **kw)


def _listing(options: RunOptions) -> tuple[dict[str, tuple[str, str]], object]:
    out = io.StringIO()
    summary = dry_run(options, out)
    lines = {}
    for line in out.getvalue().splitlines():
        what = line[:13].strip()
        rel, why = line[14:].split("  (", 1)
        lines[rel] = (what, why.rstrip(")"))
    return lines, summary


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


def test_dry_run_says_new_changed_unchanged_failed_before_and_writes_nothing(tmp_path):
    for name in ("a.png", "b.png", "c.png", "sub/d.png"):
        _product(tmp_path / "in" / name)
    (tmp_path / "in/bad.png").write_bytes(b"not a png")
    lines, _ = _listing(_opts(tmp_path))
    assert not (tmp_path / "out").exists()  # not even OUT_DIR was made
    assert {what for what, _ in lines.values()} == {"new"} and len(lines) == 5
    run(_opts(tmp_path))
    os.utime(tmp_path / "in/b.png", ns=(10**18, 10**18))  # changed
    _product(tmp_path / "in/e.png")  # new
    (tmp_path / "out/c.png").unlink()  # an output gone
    before = _snapshot(tmp_path / "out")
    lines, summary = _listing(_opts(tmp_path))
    assert _snapshot(tmp_path / "out") == before
    assert lines["a.png"] == ("unchanged", "outputs up to date")
    assert lines["b.png"] == ("changed", "file modified")
    assert lines["c.png"] == ("changed", "outputs missing or modified; mask from the cache, "
                                         "no network pass")
    assert lines["e.png"] == ("new", "not processed before")
    assert lines["bad.png"][0] == "failed before" and "PIL" in lines["bad.png"][1]
    assert summary.counts["unchanged"] == 2 and "nothing was written" in summary.line()
    # Only rendering options changed: the dry run says the masks come from the cache.
    lines, summary = _listing(_opts(tmp_path, output=OutputOptions(bg_color="#000000")))
    assert lines["a.png"] == ("changed", "rendering options changed; mask from the cache, "
                                         "no network pass")
    assert lines["b.png"] == ("changed", "file modified")
    # What the run then does matches the dry run, image by image.
    listed, _ = _listing(_opts(tmp_path))
    report = tmp_path / "r.jsonl"
    run(_opts(tmp_path, report=report))
    done = {d["path"]: d["status"] for d in map(json.loads, report.read_text().splitlines())}
    expect = {"unchanged": "skipped", "changed": "ok", "new": "ok", "failed before": "failed"}
    assert done == {rel: expect[what] for rel, (what, _) in listed.items()}


def test_dry_run_checks_the_configuration_like_a_run(tmp_path):
    from bgremove.errors import ConfigError

    with pytest.raises(ConfigError, match="not found"):
        dry_run(_opts(tmp_path), io.StringIO())


@pytest.mark.parametrize("include,exclude,rel,wanted", [
    ((), (), "a/b.jpg", True),
    (("*.png",), (), "a/b.PNG", True),
    (("*.png",), (), "a/b.jpg", False),
    ((), ("*_thumb.*",), "x/y_thumb.jpg", False),
    (("shoes/*",), (), "shoes/red/x.jpg", True),
    (("shoes/*",), (), "bags/x.jpg", False),
    (("shoes/*",), ("*/old/*",), "shoes/old/x.jpg", False),
])
def test_selection_patterns(include, exclude, rel, wanted):
    assert Selection(include, exclude).wants(rel) is wanted


def test_include_and_exclude_leave_names_and_other_outputs_alone(tmp_path):
    for name in ("red.jpg", "red.png", "blue.jpg", "old/x.jpg"):
        _product(tmp_path / "in" / name)
    first = run(_opts(tmp_path, include=("*.jpg",), exclude=("old/*",)))
    assert (first.processed, first.excluded) == (2, 2)
    # red.jpg keeps the name it gets beside red.png, whether red.png is taken or not.
    names = sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith("."))
    assert names == ["blue.jpg", "blue.png", "red.jpg.jpg", "red.jpg.png"]
    second = run(_opts(tmp_path, stale="list"))
    assert (second.processed, second.skipped, second.stale) == (2, 2, 0)
