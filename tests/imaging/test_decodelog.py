"""decodelog: what decoders print or warn lands with the image that caused it, not on stderr,
also when several threads decode at once (the GPU path's pool)."""

from __future__ import annotations

import io
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from bgremove.imaging.decodelog import listened
from bgremove.imaging.read import read_image


def _jpegs() -> tuple[bytes, bytes]:
    img = np.full((96, 128, 3), 240, np.uint8)
    img[20:70, 30:100] = (180, 40, 30)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=90)
    good = buf.getvalue()
    sos = good.index(b"\xff\xda")
    return good, good[: (sos + len(good)) // 2] + b"\xff\xd9"  # libjpeg: "Corrupt JPEG data"


def test_c_level_stderr_and_python_warnings_are_caught(capfd):
    def noisy():
        os.write(2, b"libfoo: damaged block 7\n")
        warnings.warn("Corrupt EXIF data", UserWarning, stacklevel=1)
        return 42

    result, said, caught = listened(noisy)
    assert result == 42
    assert said == ["libfoo: damaged block 7"]
    assert caught == ["UserWarning: Corrupt EXIF data"]
    out = capfd.readouterr()
    assert "damaged block" not in out.err and "EXIF" not in out.err
    os.write(2, b"after\n")  # fd 2 is the terminal again
    assert "after" in capfd.readouterr().err


def test_the_same_pil_warning_is_caught_for_every_image(capfd):
    buf = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(
        buf, "JPEG", exif=b"Exif\0\0MM\0*" + bytes(range(256)) * 4)
    for _ in range(3):  # not "once per code location", as Python's default filter would have it
        assert any("Corrupt EXIF" in w for w in read_image(buf.getvalue()).warnings)
    assert "EXIF" not in capfd.readouterr().err


def test_threads_decoding_at_once_each_get_their_own_messages(capfd):
    good, bad = _jpegs()
    jobs = [bad if i % 7 == 3 else good for i in range(70)]
    start = threading.Barrier(8)

    def read(data: bytes):
        try:
            start.wait(timeout=0.2)
        except threading.BrokenBarrierError:
            pass
        return read_image(data)

    with ThreadPoolExecutor(8) as pool:
        images = list(pool.map(read, jobs))
    for data, image in zip(jobs, images, strict=True):
        assert image.damaged == (data is bad)
        assert bool(image.warnings) == (data is bad)
        if data is bad:
            assert image.warnings == ["Corrupt JPEG data: premature end of data segment"]
    assert "Corrupt JPEG" not in capfd.readouterr().err
