"""Every error status of a real server, for its case: 400 (undecodable image, bad option), 401 (token),
413 (bytes, pixels), 415 (declared type, image format), 503 (queue full, not loaded yet), 504
(request timeout); and that nothing a request sends is ever written to disk."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest
from serving import Served, encode, product_photo

pytest.importorskip("fastapi")

TOKEN = "t0ken-for-tests"
JPEG = encode(product_photo(120, 160, 5), "JPEG", quality=90)


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve-fs")
    (root / "cwd").mkdir()
    (root / "tmp").mkdir()
    return root


@pytest.fixture(scope="module")
def server(dirs):
    s = Served("--max-upload-mb", "4", "--max-pixels", "3000000", token=TOKEN, audited=True,
               cwd=str(dirs / "cwd"), env={"TMPDIR": str(dirs / "tmp")})
    yield s
    s.stop()


def _error(answer, status, code):
    assert answer.status == status, answer.body[:300]
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["error"] == code and body["reason"], body
    return body["reason"]


def test_a_good_image_is_answered(server):
    answer = server.post(JPEG, ctype="image/jpeg")
    assert answer.status == 200 and answer.headers["content-type"] == "image/png"
    assert answer.image().shape == (120, 160, 4)


@pytest.mark.parametrize("data, ctype", [
    (b"certainly not an image", "application/octet-stream"),
    (JPEG[: len(JPEG) // 2], "image/jpeg"),  # truncated
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png"),  # a PNG signature and junk
    (b"", "image/jpeg"),
])
def test_undecodable_image_is_400(server, data, ctype):
    _error(server.post(data, ctype=ctype), 400, "undecodable_image")


@pytest.mark.parametrize("query, words", [
    ("weights=/etc/passwd", "unknown option 'weights'"),
    ("path=/etc/hosts", "unknown option 'path'"),
    ("jpeg_quality=0", "jpeg_quality"),
    ("output=mask&format=jpg", "not available for output 'mask'"),
    ("output=composite", "needs bg_color"),
    ("bg_color=notacolour", "not a colour"),
    ("margin=lots&crop=true", "margin"),
])
def test_bad_options_are_400_with_the_option_named(server, query, words):
    assert words in _error(server.post(JPEG, query, "image/jpeg"), 400, "bad_option")


def test_options_in_the_form_act_as_in_the_query(server):
    by_query = server.post(JPEG, "output=mask&crop=true", "image/jpeg")
    by_form = server.post_form(JPEG, {"output": "mask", "crop": "true"})
    assert by_query.status == by_form.status == 200
    assert np.array_equal(by_query.image(), by_form.image())
    _error(server.post_form(JPEG, {"output": "mask"}, query="output=cutout"), 400, "bad_option")
    _error(server.post_form(JPEG, {"weights": "x.onnx"}), 400, "bad_option")


def test_token_is_enforced(server):
    _error(server.post(JPEG, ctype="image/jpeg", auth=False), 401, "unauthorized")
    for value in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN, "Bearer "):
        answer = server.post(JPEG, ctype="image/jpeg", auth=False, headers={"Authorization": value})
        _error(answer, 401, "unauthorized")
        assert answer.headers["www-authenticate"] == "Bearer"
    assert server.post(JPEG, ctype="image/jpeg").status == 200
    assert server.get("/health").status == 200 and server.get("/ready").status == 200


def test_too_many_bytes_is_413_declared_or_streamed(server):
    big = os.urandom(4 * 1024 * 1024 + 1)
    assert "4,194,305 bytes" in _error(server.post(big), 413, "too_large")
    chunks = iter([big[i : i + 65536] for i in range(0, len(big), 65536)])  # no Content-Length
    _error(server.post(chunks), 413, "too_large")


def test_too_many_pixels_is_413_before_decoding(server):
    white = encode(np.full((1800, 1800, 3), 255, np.uint8), "PNG")  # 3.24 MP, a few KB
    assert len(white) < 100_000
    assert "3,240,000 pixels" in _error(server.post(white, ctype="image/png"), 413, "too_large")


@pytest.mark.parametrize("data, ctype", [
    (JPEG, "text/plain"),
    (JPEG, "application/x-www-form-urlencoded"),
    (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "application/octet-stream"),
    (b"%PDF-1.4\n%...", "application/octet-stream"),
    (JPEG, "image/gif"),
])
def test_unsupported_type_is_415(server, data, ctype):
    _error(server.post(data, ctype=ctype), 415, "unsupported_type")


def test_unsupported_part_type_is_415(server):
    _error(server.post_form(JPEG, part_type="image/gif"), 415, "unsupported_type")


def _opened(server, since: float) -> list[tuple[str, str]]:
    """(r|w, path) of every file the server opened by name after `since` (audited.py)."""
    out = []
    for line in server.output().splitlines():
        if line.startswith("AUDIT "):
            _, when, how, path = line.split(" ", 3)
            if float(when) >= since:
                out.append((how, path))
    return out


def test_no_request_opens_a_file(server, dirs):
    server.post(JPEG, ctype="image/jpeg")  # first request: lazy imports done
    since = time.time()
    # Over 1 MB: the size at which Starlette's own form parser would spool a file to $TMPDIR.
    noise = encode(np.random.default_rng(0).integers(0, 255, (700, 700, 3), np.uint8), "PNG")
    assert len(noise) > 1024 * 1024
    for query in ("", "output=mask&crop=true", "bg_color=white&format=webp", "tta=true"):
        assert server.post_form(noise, filename="../../../etc/passwd", part_type="image/png",
                                query=query).status == 200
    assert server.post(noise, ctype="image/png").status == 200
    for bad in (b"junk", JPEG[:500], b"GIF89a" + b"\0" * 20):
        assert server.post(bad).status in (400, 415)
    time.sleep(0.2)  # the audit lines are written as the opens happen
    opened = _opened(server, since)
    # Python modules imported lazily (PIL's WebP plugin on the first WebP) are all it may open.
    assert all(how == "r" and path.endswith((".py", ".pyc", ".so")) for how, path in opened), opened
    assert not list((dirs / "cwd").iterdir())
    assert not (dirs.parent / "escape.png").exists()


def test_openapi_describes_remove(server):
    spec = server.get("/openapi.json").json()
    post = spec["paths"]["/remove"]["post"]
    assert {"multipart/form-data", "image/jpeg", "image/png"} <= set(post["requestBody"]["content"])
    params = {p["name"] for p in post["parameters"]}
    assert {"output", "format", "bg_color", "crop", "margin", "tta", "threshold"} <= params
    assert {"400", "401", "413", "415", "503", "504"} <= set(post["responses"])
    assert {"/health", "/ready"} <= set(spec["paths"])


def test_unknown_route_and_method_answer_json(server):
    _error(server.get("/nowhere"), 404, "not_found")
    _error(server.get("/remove"), 405, "method_not_allowed")


@pytest.fixture(scope="module")
def slow():
    # One ticket; each image waits 1 s for company and every request gives up after 0.6 s.
    s = Served("--queue", "1", "--max-batch", "8", "--batch-wait-ms", "1000", "--timeout", "0.6")
    yield s
    s.stop()


def test_full_queue_is_503_and_a_slow_request_504(slow):
    first: list = []
    worker = threading.Thread(target=lambda: first.append(slow.post(JPEG, ctype="image/jpeg")))
    worker.start()
    time.sleep(0.25)  # the first request holds the one ticket, waiting for its batch
    answer = slow.post(JPEG, ctype="image/jpeg")
    _error(answer, 503, "queue_full")
    assert answer.headers["retry-after"] == "1"
    worker.join(10)
    _error(first[0], 504, "timeout")
    # The timed-out request gave its ticket back: the next one is admitted, not refused. It may
    # join the batch the first one left waiting (answered when that batch runs) or time out.
    time.sleep(0.1)
    admitted = slow.post(JPEG, ctype="image/jpeg")
    assert admitted.status in (200, 504), admitted.body[:300]
    if admitted.status == 504:
        _error(admitted, 504, "timeout")
