"""The broken promises of issue 15, one test each: hostile trees, names, sizes and files."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from quick_runs import quick_options as _opts

from bgremove.batch.driver import run
from bgremove.batch.manifest import MANIFEST_NAME
from bgremove.batch.options import RunOptions
from bgremove.imaging.compose import alpha_to_uint8
from bgremove.imaging.outputs import OutputOptions
from bgremove.inference.testing import fake_backend


def _product(path: Path, w: int = 40, h: int = 30, color=(200, 30, 30), fmt=None) -> Path:
    img = np.full((h, w, 3), 255, np.uint8)
    img[h // 4: 3 * h // 4 + 1, w // 4: 3 * w // 4 + 1] = color
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path, format=fmt)
    return path


def _report(path: Path) -> dict[str, dict]:
    return {d["path"]: d for d in map(json.loads, path.read_text().splitlines())}


def _tree(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in sorted(root.rglob("*"))}


# 1. Outputs written inside IN_DIR through a symbolic link already in OUT_DIR.
def test_links_in_the_output_tree_never_lead_into_the_input(tmp_path):
    _product(tmp_path / "in/sub/x.jpg")
    _product(tmp_path / "in/a/b/y.jpg")
    _product(tmp_path / "in/z.jpg")
    (tmp_path / "out").mkdir()
    (tmp_path / "out/sub").symlink_to(tmp_path / "in/sub")  # ln -s $PWD/in/sub out/sub
    (tmp_path / "out/a").symlink_to(tmp_path / "in")  # out/a/b -> in/b: a folder to create
    (tmp_path / "in/sub/.x.png.abcd1234.tmp").write_bytes(b"a temporary-looking input file")
    before = _tree(tmp_path / "in")
    summary = run(_opts(tmp_path, output=OutputOptions(mask=True), report=tmp_path / "r.jsonl"))
    assert _tree(tmp_path / "in") == before  # not one file or folder more
    lines = _report(tmp_path / "r.jsonl")
    for rel in ("sub/x.jpg", "a/b/y.jpg"):
        assert lines[rel]["status"] == "failed"
        assert "inside the input folder" in lines[rel]["error"]
    assert lines["z.jpg"]["status"] == "ok"
    assert (summary.processed, summary.failed, summary.exit_code) == (1, 2, 1)


# 2. Silent overwrites between images.
def test_no_two_images_ever_share_an_output(tmp_path):
    sizes = {"a.jpg": 30, "a.png": 31, "a.jpg.png": 32, "red.jpg": 33, "red.mask.jpg": 34,
             "red.png/inner.jpg": 35, "Red.JPG": 36, "red.bg.jpg": 37}
    for rel, w in sizes.items():
        _product(tmp_path / "in" / rel, w, 20, fmt="PNG" if rel.endswith(".png") else "JPEG")
    output = OutputOptions(mask=True, bg_color="white", composite_format="png")
    summary = run(_opts(tmp_path, output=output, report=tmp_path / "r.jsonl"))
    assert (summary.processed, summary.failed) == (len(sizes), 0)
    lines = _report(tmp_path / "r.jsonl")
    outputs = [o for d in lines.values() for o in d["outputs"]]
    assert len({o.casefold() for o in outputs}) == len(outputs) == 3 * len(sizes)
    for rel, w in sizes.items():  # every output holds its own image
        for out in lines[rel]["outputs"]:
            assert Image.open(tmp_path / "out" / out).size == (w, 20), (rel, out)
    assert lines["red.png/inner.jpg"]["outputs"][0] == "red.png/inner.png"


# 3. 1x1 images.
@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_one_pixel_images(tmp_path, fmt):
    path = tmp_path / "in" / f"dot.{fmt.lower()}"
    path.parent.mkdir(parents=True)
    Image.fromarray(np.full((1, 1, 3), (200, 30, 30), np.uint8)).save(path, fmt)
    summary = run(_opts(tmp_path, output=OutputOptions(mask=True, bg_color="white", crop=True)))
    assert (summary.processed, summary.failed) == (1, 0)
    assert Image.open(tmp_path / "out/dot.png").size == (1, 1)
    assert alpha_to_uint8(np.full((1, 1), 0.5, np.float32), 0.02, 0.98).shape == (1, 1)


# 4. A 255-byte file name.
def test_file_name_of_255_bytes(tmp_path):
    name = "é" * 125 + "x.jpg"  # 255 bytes in UTF-8
    assert len(os.fsencode(name)) == 255
    _product(tmp_path / "in" / name)
    summary = run(_opts(tmp_path))
    assert (summary.processed, summary.failed) == (1, 0)
    written = sorted(os.listdir(tmp_path / "out"))
    assert name[:-4] + ".png" in written  # the cutout keeps its name: it fits
    assert not [n for n in written if n.endswith(".tmp")]
    # <stem>.mask.png would not fit: that image's outputs get a shortened name, all of them.
    summary = run(RunOptions(tmp_path / "in", tmp_path / "out2", output=OutputOptions(mask=True),
                             backend_factory=fake_backend, workers=1, progress="quiet"))
    assert (summary.processed, summary.failed) == (1, 0)
    written = [n for n in os.listdir(tmp_path / "out2") if not n.startswith(".")]
    assert len(written) == 2 and all(len(os.fsencode(n)) <= 255 for n in written)


# 5. Memory bounded by the pixels, not the bytes.
_PADDED_CHILD = r"""
import resource, sys
from bgremove.imaging.read import read_image
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
image = read_image(sys.argv[1])
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024
print(image.rgb.shape, grown)
"""


def test_a_padded_file_costs_what_its_pixels_cost(tmp_path):
    path = tmp_path / "padded.jpg"
    _product(path, 64, 48, fmt="JPEG")
    with open(path, "r+b") as f:
        f.truncate(512 << 20)  # 512 MB of zeros after the JPEG, sparse on disk
    out = subprocess.run([sys.executable, "-c", _PADDED_CHILD, str(path)], capture_output=True,
                         text=True, check=True).stdout.split()
    assert out[:3] == ["(48,", "64,", "3)"]
    assert int(out[3]) < 100  # MiB the read added to the process's peak


def test_a_padded_webp_is_refused_not_read_whole(tmp_path):
    path = tmp_path / "in" / "padded.webp"
    _product(path, 16, 16, fmt="WEBP")
    with open(path, "r+b") as f:
        f.truncate(256 << 20)
    summary = run(_opts(tmp_path, report=tmp_path / "r.jsonl"))
    assert summary.failed == 1
    assert "more than an image of this size can need" in _report(tmp_path / "r.jsonl")[
        "padded.webp"]["error"]


# 9. Damage the decoder saw is reported, and its messages stay off stderr.
def _damaged_folder(root: Path) -> None:
    good = io.BytesIO()
    img = np.full((48, 64, 3), 250, np.uint8)
    img[10:40, 10:50] = (200, 40, 30)
    Image.fromarray(img).save(good, "JPEG", quality=90)
    jpg = good.getvalue()
    sos = jpg.index(b"\xff\xda")
    root.mkdir(parents=True)
    # The scan cut, the end marker kept: libjpeg prints "Corrupt JPEG data" and pads with grey.
    (root / "scan_cut.jpg").write_bytes(jpg[: (sos + len(jpg)) // 2] + b"\xff\xd9")
    png = io.BytesIO()
    Image.fromarray(img).save(png, "PNG")
    (root / "cut_in_iend.png").write_bytes(png.getvalue()[:-6])
    frames = [Image.fromarray(np.roll(img, 7 * k, 1)) for k in range(3)]
    apng = io.BytesIO()
    frames[0].save(apng, "PNG", save_all=True, append_images=frames[1:])
    data = apng.getvalue()
    (root / "apng_one_frame.png").write_bytes(data[: data.index(b"fcTL", data.index(b"IDAT")) - 4]
                                             + png.getvalue()[-12:])
    bmp = io.BytesIO()
    Image.fromarray(img).save(bmp, "BMP")
    (root / "short.bmp").write_bytes(bmp.getvalue()[:-300])
    exif = io.BytesIO()
    Image.fromarray(img).save(exif, "JPEG", exif=b"Exif\0\0MM\0*" + bytes(range(256)) * 4)
    (root / "bad_exif.jpg").write_bytes(exif.getvalue())
    Image.fromarray(img).save(root / "fine.jpg", quality=90)


_RUN_CHILD = r"""
import sys
from bgremove.batch.driver import run
from bgremove.batch.options import RunOptions
from bgremove.inference.testing import fake_backend
s = run(RunOptions(sys.argv[1], sys.argv[2], report=sys.argv[3], backend_factory=fake_backend,
                   workers=int(sys.argv[4]), progress="log"))
sys.exit(s.exit_code)
"""


def test_damaged_files_are_flagged_and_decoders_stay_quiet(tmp_path, workers=2):
    _damaged_folder(tmp_path / "in")
    proc = subprocess.run([sys.executable, "-c", _RUN_CHILD, str(tmp_path / "in"),
                           str(tmp_path / "out"), str(tmp_path / "r.jsonl"), str(workers)],
                          capture_output=True, text=True, timeout=120)
    lines = _report(tmp_path / "r.jsonl")
    for name in ("scan_cut.jpg", "cut_in_iend.png", "apng_one_frame.png"):
        assert lines[name]["status"] == "ok" and "damaged_input" in lines[name]["flags"], name
        assert lines[name]["warnings"], name
    assert "Corrupt JPEG data" in " ".join(lines["scan_cut.jpg"]["warnings"])
    assert lines["short.bmp"]["status"] == "failed"
    assert "Corrupt EXIF" in " ".join(lines["bad_exif.jpg"]["warnings"])
    assert lines["fine.jpg"]["flags"] == [] and lines["fine.jpg"]["warnings"] == []
    # The decoders' own words are in the report, not on the terminal.
    assert "Corrupt JPEG" not in proc.stderr and "EXIF" not in proc.stderr, proc.stderr
    assert "3 processed images were damaged files" in proc.stderr
    assert proc.returncode == 1  # short.bmp failed


# 10. Outputs truncated in place are noticed.
def test_an_output_truncated_in_place_is_redone(tmp_path):
    _product(tmp_path / "in/a.jpg")
    _product(tmp_path / "in/b.jpg")
    assert run(_opts(tmp_path, output=OutputOptions(mask=True))).processed == 2
    mask = tmp_path / "out/a.mask.png"
    whole = mask.read_bytes()
    mask.write_bytes(whole[: len(whole) // 2])  # same name, cut short
    again = run(_opts(tmp_path, output=OutputOptions(mask=True)))
    assert (again.processed, again.skipped) == (1, 1)
    assert mask.read_bytes() == whole


def test_a_manifest_from_before_sizes_is_upgraded_not_redone(tmp_path):
    _product(tmp_path / "in/a.jpg")
    _product(tmp_path / "in/b.jpg")
    run(_opts(tmp_path))
    db = sqlite3.connect(tmp_path / "out" / MANIFEST_NAME)  # back to the old schema
    db.executescript("CREATE TABLE old AS SELECT rel, size, mtime_ns, key, outputs, done_at "
                     "FROM files; DROP TABLE files; ALTER TABLE old RENAME TO files;")
    db.commit()
    db.close()
    cut = tmp_path / "out/b.png"
    cut.write_bytes(cut.read_bytes()[:-20])  # damaged before the upgrade: its end is missing
    again = run(_opts(tmp_path))
    assert (again.processed, again.skipped) == (1, 1)  # b redone, a kept
    third = run(_opts(tmp_path))
    assert (third.processed, third.skipped) == (0, 2)
