"""`bgremove review`: what the page lists and in which order, that it is one self-contained file,
and that it renders in a real headless browser with every failed image on it."""

from __future__ import annotations

import html
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from bgremove.batch.driver import run
from bgremove.batch.options import RunOptions
from bgremove.cli import app
from bgremove.errors import ConfigError
from bgremove.imaging.outputs import OutputOptions
from bgremove.inference.testing import fake_backend
from bgremove.review.collect import collect
from bgremove.review.page import write_review

FAILED = {"broken.jpg": b"", "garbage.png": b"not an image at all", "x<y>&'z.jpg": b"\xff\xd8\xff"}


def _image(path: Path, box=None, fill=(255, 255, 255), colour=(200, 40, 60), size=(120, 90)):
    w, h = size
    img = np.full((h, w, 3), fill, np.uint8)
    if box is not None:
        x0, y0, x1, y1 = box
        img[y0:y1, x0:x1] = colour
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)


@pytest.fixture
def catalog(tmp_path):
    src = tmp_path / "in"
    _image(src / "good/a.png", (30, 20, 90, 70))
    _image(src / "good/b.png", (40, 25, 80, 60), colour=(20, 90, 200))
    _image(src / "blank.png")  # nothing found: empty_mask
    _image(src / "edge.png", (0, 10, 70, 80))  # cut by the frame: touches_border
    _image(src / "full.png", fill=(30, 60, 90))  # all object: full_frame
    for name, data in FAILED.items():
        (src / name).write_bytes(data)
    summary = run(RunOptions(src, tmp_path / "out", output=OutputOptions(bg_color="white"),
                             backend_factory=fake_backend, workers=1, progress="quiet",
                             report=tmp_path / "run.jsonl"))
    assert (summary.processed, summary.failed) == (5, 3)
    return tmp_path


def test_worst_first(catalog):
    review = collect(catalog / "out")
    assert [i.rel for i in review.failed] == sorted(FAILED)
    assert [i.rel for i in review.flagged] == ["blank.png", "full.png", "edge.png"]
    assert [i.flags for i in review.flagged] == [["empty_mask"], ["full_frame"], ["touches_border"]]
    assert [i.rel for i in review.rest] == ["good/a.png", "good/b.png"]
    assert all(i.error for i in review.failed)
    assert all(i.mask is not None and i.original is not None for i in review.flagged + review.rest)


def test_page_is_self_contained_and_lists_every_failure(catalog):
    summary = write_review(catalog / "out")
    assert (summary.failed, summary.flagged, summary.rest) == (3, 3, 2)
    text = summary.path.read_text()
    assert summary.path == catalog / "out/review.html"
    assert "http://" not in text and "https://" not in text  # nothing fetched
    sources = [s.split("'")[0] for s in text.split("src='")[1:]]
    assert sources and all(s.startswith("data:image/") for s in sources)
    for item in collect(catalog / "out").failed:
        assert html.escape(item.rel) in text and html.escape(item.error) in text
    assert "x<y>" not in text  # names are escaped
    assert text.index("broken.jpg") < text.index("blank.png") < text.index("edge.png") \
        < text.index("good/a.png")
    # Failed originals cannot be decoded (a placeholder says so); the rest: names only.
    assert text.count("not available") == 3 and text.count("<img") == 3 * 3
    assert "good/a.png" in text
    full = write_review(catalog / "out", catalog / "all.html", show_all=True).path.read_text()
    assert full.count("<img") == 3 * 3 + 2 * 3


def test_review_of_a_report_and_of_what_is_gone(catalog):
    os.remove(catalog / "in/edge.png")
    review = collect(catalog / "out")
    assert "edge.png" not in [i.rel for i in review.flagged]  # its input is gone
    (catalog / "one.jsonl").write_text(
        "\n".join(x for x in (catalog / "run.jsonl").read_text().splitlines()
                  if "blank.png" in x or "broken.jpg" in x) + "\n")
    review = collect(catalog / "out", catalog / "one.jsonl")
    assert ([i.rel for i in review.failed], [i.rel for i in review.flagged], review.rest) == (
        ["broken.jpg"], ["blank.png"], [])
    with pytest.raises(ConfigError, match="no bgremove manifest"):
        collect(catalog / "in")


def test_cli_review(catalog):
    runner = CliRunner()
    res = runner.invoke(app, ["review", str(catalog / "out"), "-o", str(catalog / "p.html")])
    assert res.exit_code == 0, res.output
    assert "3 failed, 3 flagged, 2 without flags" in res.output and (catalog / "p.html").is_file()
    assert runner.invoke(app, ["review", str(catalog / "nothing")]).exit_code == 2


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if found := shutil.which(name):
            return found
    return None


class _Cards(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cards: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "div" and "card" in (a.get("class") or "").split():
            self.cards.append((a["class"].split()[1], a.get("data-path", "")))


def test_page_renders_in_headless_chromium(catalog):
    browser = _chromium()
    if browser is None:
        pytest.skip("no headless browser: install Debian's chromium (apt-get install -y chromium) "
                    "to run the review page's browser test")
    page = write_review(catalog / "out").path
    shot = Path(os.environ.get("BGREMOVE_REVIEW_SHOT") or catalog / "review.png")
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
              f"--user-data-dir={catalog / 'profile'}", "--window-size=1200,1600"]
    done = subprocess.run([*common, f"--screenshot={shot}", page.as_uri()],
                          capture_output=True, timeout=120)
    assert done.returncode == 0 and shot.is_file(), done.stderr.decode()[-2000:]
    dom = subprocess.run([*common, "--dump-dom", page.as_uri()], capture_output=True, timeout=120)
    assert dom.returncode == 0, dom.stderr.decode()[-2000:]
    parser = _Cards()
    parser.feed(dom.stdout.decode())
    # The DOM as the browser built it: every failed image has its card, and they come first.
    assert [p for kind, p in parser.cards if kind == "failed"] == sorted(FAILED)
    assert [kind for kind, _ in parser.cards][:6] == ["failed"] * 3 + ["flagged"] * 3
    pixels = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3).astype(int)
    assert Image.open(shot).size == (1200, 1600)

    def seen(rgb):
        return bool((np.abs(pixels - rgb).sum(axis=1) < 12).any())

    assert seen((198, 40, 40)) and seen((239, 108, 0))  # failed and flagged card borders drawn
    assert seen((204, 204, 204))  # the checkerboard under a cutout
