"""A real server's answers equal `bgremove run`'s files, pixel for pixel, for the same image and
options, with the server's bundled weights (fp32), also when concurrent requests share model
batches."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image
from serving import Served, encode, product_photo, scene_photo

from bgremove.batch.driver import run
from bgremove.batch.options import RunOptions
from bgremove.imaging.outputs import OutputOptions
from bgremove.inference.backends import default_weights

pytest.importorskip("fastapi")

IMAGES = {  # name -> (encoded bytes, Content-Type)
    "shirt.jpg": (encode(product_photo(300, 400, 1), "JPEG", quality=90), "image/jpeg"),
    "bag.png": (encode(product_photo(240, 320, 2, alpha=True), "PNG"), "image/png"),
    "shoe.webp": (encode(product_photo(333, 251, 3), "WEBP", lossless=True), "image/webp"),
    # Long side 2000 > 6 x 320: refined with tiles, so tile batches are covered too.
    "rail.jpg": (encode(product_photo(600, 2000, 4), "JPEG", quality=90), "image/jpeg"),
    "street.jpg": (encode(scene_photo(300, 400, 5), "JPEG", quality=90), "image/jpeg"),
}
# The `bgremove run` options, the images, and per output the request that must give the same pixels.
CASES = [
    (tuple(IMAGES), dict(output=OutputOptions(mask=True, bg_color="white", crop=True, margin="5%")),
     {"cutout": "crop=true&margin=5%25",
      "mask": "output=mask&crop=true&margin=5%25",
      "composite": "bg_color=white&crop=true&margin=5%25"}),
    (("shirt.jpg", "bag.png"),
     dict(output=OutputOptions(cutout_format="webp", threshold=0.5, decontaminate=False,
                               bg_color="#203040", composite_format="png"), tta=True),
     {"cutout": "format=webp&threshold=0.5&decontaminate=false&tta=true",
      "composite": "output=composite&bg_color=%23203040&format=png&threshold=0.5"
                   "&decontaminate=false&tta=true"}),
    # The mirror for busy scenes: the street is mirrored, the shirt on its plain backdrop is not.
    (("street.jpg", "shirt.jpg"), dict(output=OutputOptions(mask=True), mirror=True),
     {"cutout": "mirror=true", "mask": "output=mask&mirror=true"}),
    # A marketplace canvas: the object's box at 85% of a 600 x 600 white square.
    (("shirt.jpg", "shoe.webp"),
     dict(output=OutputOptions(bg_color="white", canvas="600", fill=0.85, max_upscale=4.0)),
     {"cutout": "canvas=600&fill=0.85&max_upscale=4",
      "composite": "bg_color=white&canvas=600&fill=0.85&max_upscale=4"}),
]


@pytest.fixture(scope="module")
def server():
    # A long batch wait so that the concurrent requests below share batches.
    s = Served("--batch-wait-ms", "300", "--max-batch", "4", "--threads", "1")
    yield s
    s.stop()


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


@pytest.mark.parametrize("case", range(len(CASES)))
def test_answers_equal_run_files_pixel_for_pixel(tmp_path, server, case):
    names, run_kw, queries = CASES[case]
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for name in names:
        (src / name).write_bytes(IMAGES[name][0])
    # The server's default weights: fp32, as it batches requests (a run's default is int8)
    summary = run(RunOptions(src, out, workers=1, progress="quiet",
                             weights=str(default_weights(int8=False)), **run_kw))
    assert summary.failed == 0 and summary.processed == len(names)

    jobs = [(name, kind, query) for name in names for kind, query in queries.items()
            if kind == "cutout" or name != "rail.jpg"]  # the big one once: time
    with ThreadPoolExecutor(len(jobs)) as pool:  # all at once: they share model batches
        answers = list(pool.map(
            lambda j: server.post(IMAGES[j[0]][0], j[2], IMAGES[j[0]][1]), jobs))
    batched = 0
    for (name, kind, _), answer in zip(jobs, answers, strict=True):
        assert answer.status == 200, (name, kind, answer.body[:300])
        stem = name.rsplit(".", 1)[0]
        fmt = run_kw["output"]
        ext = {"cutout": fmt.cutout_format, "mask": "mask.png",
               "composite": fmt.composite_format}[kind]
        written = out / f"{stem}.{ext}"
        if kind == "composite" and fmt.cutout_format == fmt.composite_format:
            written = out / f"{stem}.bg.{ext}"
        expected = _pixels(written.read_bytes())
        got = _pixels(answer.body)
        assert got.shape == expected.shape and np.array_equal(got, expected), (name, kind)
        batched += int(answer.headers["x-bgremove-batch-size"]) > 1
    assert batched, "no request shared a batch: the test would not cover batching"


def test_transparent_input_stays_transparent(server):
    answer = server.post(IMAGES["bag.png"][0], ctype="image/png")
    rgba = answer.image()
    assert rgba.shape[2] == 4 and rgba[:, : 320 // 6, 3].max() == 0


def test_a_capped_enlargement_is_flagged_in_a_header(server):
    answer = server.post(IMAGES["shirt.jpg"][0], "canvas=4000&max_upscale=1.5", "image/jpeg")
    assert answer.status == 200 and answer.image().shape[:2] == (4000, 4000)
    assert answer.headers.get("x-bgremove-flags") == "upscale_capped"
    plain = server.post(IMAGES["shirt.jpg"][0], "", "image/jpeg")
    assert "x-bgremove-flags" not in plain.headers


def test_a_malformed_canvas_is_a_400(server):
    answer = server.post(IMAGES["shirt.jpg"][0], "canvas=12x", "image/jpeg")
    assert answer.status == 400 and b"canvas" in answer.body


def test_the_mirror_moves_a_busy_scene_and_leaves_a_studio_shot(server):
    """mirror=true reaches the model: a busy scene's mask changes, a plain backdrop's does not."""
    def mask(name: str, query: str) -> np.ndarray:
        answer = server.post(IMAGES[name][0], "output=mask" + query, IMAGES[name][1])
        assert answer.status == 200, answer.body[:300]
        return _pixels(answer.body)

    assert not np.array_equal(mask("street.jpg", ""), mask("street.jpg", "&mirror=true"))
    assert np.array_equal(mask("shirt.jpg", ""), mask("shirt.jpg", "&mirror=true"))
