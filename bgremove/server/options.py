"""What the operator sets when starting `bgremove serve` (ServeOptions), checked before any
socket is opened or any model loaded: a bad option is a ConfigError (exit code 2)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

from bgremove.errors import ConfigError

# The 64 MP bomb guard of `bgremove run` (imaging/read.py's DEFAULT_MAX_PIXELS), not imported
# here so that parsing options loads no OpenCV.
DEFAULT_MAX_PIXELS = 64_000_000


@dataclass(frozen=True)
class ServeOptions:
    """host/port: where to listen (loopback unless told otherwise). token: when set, /remove
    needs `Authorization: Bearer <token>`. workers: processes, each with its own model; threads:
    inference threads per process (None: cores / workers); io_threads: decode/encode threads per
    process (None: cores). max_batch / batch_wait_ms: up to max_batch waiting images go to the
    model together; the first waits at most batch_wait_ms for company. queue: requests one
    process holds at once (read, decoded, waiting, encoded); one more gets 503 at once.
    max_upload_bytes / max_pixels: larger requests get 413. timeout: seconds from the request's
    first body byte to its answer (504 past it); also how long a SIGTERM waits for requests in
    flight."""

    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    weights: str | None = None
    preset: str | None = None
    device: str = "auto"
    workers: int = 1
    threads: int | None = None
    io_threads: int | None = None
    max_batch: int = 4
    batch_wait_ms: float = 2.0
    queue: int = 32
    max_upload_bytes: int = 32 * 1024 * 1024
    max_pixels: int = DEFAULT_MAX_PIXELS
    timeout: float = 60.0
    log_level: str = "info"
    access_log: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"--port must be 0..65535: {self.port}")
        if self.token is not None and not self.token.strip():
            raise ConfigError("--token is empty; leave it out to serve without a token")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"--device must be auto, cpu or cuda: {self.device!r}")
        for name in ("workers", "max_batch", "queue", "max_upload_bytes", "max_pixels"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1: {getattr(self, name)}")
        for name in ("threads", "io_threads"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1")
        if not 0 <= self.batch_wait_ms <= 1000:
            raise ConfigError(f"--batch-wait-ms must be 0..1000: {self.batch_wait_ms}")
        if not self.timeout > 0:
            raise ConfigError(f"--timeout must be positive: {self.timeout}")
        if self.log_level not in ("critical", "error", "warning", "info", "debug"):
            raise ConfigError(f"--log-level must be critical, error, warning, info or debug: "
                              f"{self.log_level!r}")

    def n_threads(self) -> int:
        return self.threads or max(1, (os.cpu_count() or 1) // self.workers)

    def n_io_threads(self) -> int:
        return self.io_threads or max(2, os.cpu_count() or 1)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeOptions:
        return cls(**json.loads(text))
