"""The marketplace bar: `--canvas 2000 --fill 0.85 --bg-color white` gives 2000x2000 JPEGs whose
object box spans 85% (+-1 px) of the canvas's side, centred; cutouts get a transparent canvas."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from bgremove.batch.driver import run
from bgremove.batch.options import RunOptions
from bgremove.imaging.compose import crop_box
from bgremove.imaging.outputs import OutputOptions
from bgremove.inference.testing import fake_backend

SIDE, FILL = 2000, 0.85


def _product(path: Path, w: int, h: int, box: tuple[int, int, int, int]) -> None:
    img = np.full((h, w, 3), 255, np.uint8)
    x0, y0, x1, y1 = box
    img[y0:y1, x0:x1] = (180, 40, 60)
    img[y0 + (y1 - y0) // 3:y1 - (y1 - y0) // 3, x0:x0 + 8] = (20, 20, 20)  # some detail
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path, quality=95)


def _box_of_nonwhite(rgb: np.ndarray, tol: int = 10) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero((255 - rgb.astype(np.int16)).max(axis=2) > tol)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def test_canvas_2000_fill_085_white(tmp_path):
    # Wide, tall and off-centre objects; each needs under 2x enlargement (the default limit).
    shapes = {"wide.jpg": (1400, 1000, (200, 300, 1300, 800)),
              "tall.jpg": (1000, 1400, (100, 150, 700, 1250)),
              "corner.jpg": (1600, 1200, (40, 30, 1000, 700))}
    for name, (w, h, box) in shapes.items():
        _product(tmp_path / "in" / name, w, h, box)
    output = OutputOptions(canvas=str(SIDE), fill=FILL, bg_color="white", mask=True)
    report = tmp_path / "r.jsonl"
    summary = run(RunOptions(tmp_path / "in", tmp_path / "out", output=output, report=report,
                             backend_factory=fake_backend, workers=1, progress="quiet"))
    assert (summary.processed, summary.failed) == (3, 0)
    target = round(FILL * SIDE)
    for name in shapes:
        stem = Path(name).stem
        jpeg = Image.open(tmp_path / "out" / f"{stem}.jpg")
        assert (jpeg.format, jpeg.mode, jpeg.size) == ("JPEG", "RGB", (SIDE, SIDE))
        rgb = np.asarray(jpeg)
        assert (rgb[:5, :5] >= 250).all() and (rgb[-5:, -5:] >= 250).all()  # white around
        # The object's box, as bgremove defines it (alpha >= 5%, specks ignored), in the mask
        # written beside the JPEG on the same canvas:
        mask = np.asarray(Image.open(tmp_path / "out" / f"{stem}.mask.png"))
        x0, y0, x1, y1 = crop_box(mask)
        assert abs(max(x1 - x0, y1 - y0) - target) <= 1, (name, x1 - x0, y1 - y0)
        assert abs((x0 + x1) / 2 - SIDE / 2) <= 1 and abs((y0 + y1) / 2 - SIDE / 2) <= 1
        # And in the JPEG itself: the pixels that are not white (by more than 10 levels, above
        # JPEG noise) span the same box.
        jx0, jy0, jx1, jy1 = _box_of_nonwhite(rgb)
        assert abs(max(jx1 - jx0, jy1 - jy0) - target) <= 1, (name, jx1 - jx0, jy1 - jy0)
        assert abs((jx0 + jx1) / 2 - SIDE / 2) <= 1 and abs((jy0 + jy1) / 2 - SIDE / 2) <= 1
        cutout = np.asarray(Image.open(tmp_path / "out" / f"{stem}.png"))
        assert cutout.shape == (SIDE, SIDE, 4) and cutout[0, 0, 3] == 0  # transparent canvas
    flags = [json.loads(x)["flags"] for x in report.read_text().splitlines()]
    assert flags == [[], [], []]


def test_a_small_photo_is_not_enlarged_past_the_limit_and_is_flagged(tmp_path):
    _product(tmp_path / "in/small.jpg", 300, 240, (60, 50, 240, 190))  # 180 px box: 9.4x needed
    output = OutputOptions(canvas="2000", bg_color="white", mask=True)
    run(RunOptions(tmp_path / "in", tmp_path / "out", output=output, report=tmp_path / "r.jsonl",
                   backend_factory=fake_backend, workers=1, progress="quiet"))
    line = json.loads((tmp_path / "r.jsonl").read_text())
    assert line["flags"] == ["upscale_capped"]
    x0, y0, x1, y1 = crop_box(np.asarray(Image.open(tmp_path / "out/small.mask.png")))
    assert max(x1 - x0, y1 - y0) <= 2 * 190  # at most 2x the source box (plus its soft edge)
