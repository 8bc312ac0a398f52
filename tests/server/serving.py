"""A real `bgremove serve` for tests: a subprocess on a free loopback port, spoken to over HTTP with
the standard library's client (http.client), as any catalog system would."""

from __future__ import annotations

import http.client
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

AUDITED = Path(__file__).with_name("audited.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)

    def image(self) -> np.ndarray:
        return np.asarray(Image.open(io.BytesIO(self.body)))


class Served:
    """`python -m bgremove serve ARGS` until stop(); ready once /ready says 200."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, cwd: str | None = None,
                 wait_ready: bool = True, token: str | None = None, audited: bool = False) -> None:
        self.port = free_port()
        # The token through the environment, as the README recommends; sent on every request
        # unless a test says otherwise.
        self.auth = {"Authorization": f"Bearer {token}"} if token else {}
        env = {**(env or {}), **({"BGREMOVE_TOKEN": token} if token else {})}
        launcher = [str(AUDITED)] if audited else ["-m", "bgremove"]
        cmd = [sys.executable, *launcher, "serve", "--port", str(self.port),
               "--no-access-log", "--log-level", "warning", *args]
        # A file, not a pipe: a chatty server must never block on a full pipe nobody reads.
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})}, cwd=cwd)
        if wait_ready:
            self.wait_ready()

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}: {self.output()}")
            try:
                if self.get("/ready").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"server not ready in {timeout} s")

    def request(self, method: str, path: str, body=None, headers: dict | None = None,
                timeout: float = 60.0) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {},
                         encode_chunked=body is not None and not isinstance(body, bytes))
            r = conn.getresponse()
            return Answer(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()

    def get(self, path: str, **kw) -> Answer:
        return self.request("GET", path, **kw)

    def post(self, data: bytes, query: str = "", ctype: str = "application/octet-stream",
             headers: dict | None = None, auth: bool = True, **kw) -> Answer:
        """POST /remove; `auth=False` leaves out the server's token."""
        sent = {"Content-Type": ctype, **(self.auth if auth else {}), **(headers or {})}
        return self.request("POST", "/remove" + (f"?{query}" if query else ""), body=data,
                            headers=sent, **kw)

    def post_form(self, data: bytes, fields: dict[str, str] | None = None, filename="photo.jpg",
                  part_type: str = "image/jpeg", query: str = "", **kw) -> Answer:
        body, ctype = multipart(data, fields or {}, filename, part_type)
        return self.post(body, query, ctype, **kw)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")


def multipart(data: bytes, fields: dict[str, str], filename: str, part_type: str,
              field: str = "image") -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                  f"{value}\r\n".encode())
    out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
              f'filename="{filename}"\r\nContent-Type: {part_type}\r\n\r\n'.encode())
    out.write(data + f"\r\n--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def scene_photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    """product_photo's object on a busy backdrop (blocks of random colour, as a street's clutter):
    what the mirror for busy scenes mirrors."""
    import cv2

    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (-(-h // 16), -(-w // 16), 3), dtype=np.uint8)
    img = np.ascontiguousarray(np.repeat(np.repeat(blocks, 16, 0), 16, 1)[:h, :w])
    colour = tuple(int(c) for c in rng.integers(20, 200, 3))
    cv2.ellipse(img, (w // 2, h // 2), (w // 4, h // 3), 15, 0, 360, colour, -1, cv2.LINE_AA)
    return cv2.GaussianBlur(img, (0, 0), 1.2)


def product_photo(h: int, w: int, seed: int = 0, alpha: bool = False) -> np.ndarray:
    """A product on an off-white backdrop: a shaded ellipse and a bar, soft edges, a little noise."""
    import cv2

    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 236, np.uint8)
    img += rng.integers(0, 12, (h, w, 1), dtype=np.uint8)
    colour = tuple(int(c) for c in rng.integers(20, 200, 3))
    cv2.ellipse(img, (w // 2, h // 2), (w // 4, h // 3), 15, 0, 360, colour, -1, cv2.LINE_AA)
    cv2.rectangle(img, (w // 8, h // 5), (w // 8 + w // 20, h - h // 5), (40, 40, 40), -1)
    img = cv2.GaussianBlur(img, (0, 0), 1.2)
    if not alpha:
        return img
    a = np.full((h, w), 255, np.uint8)
    a[:, : w // 6] = 0  # a transparent strip: must stay transparent in the cutout
    return np.dstack([img, a])


def encode(arr: np.ndarray, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **params)
    return buf.getvalue()
