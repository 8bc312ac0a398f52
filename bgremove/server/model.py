"""One model per server process: loaded in the background at start-up, then shared by every
request through one micro-batcher, whose thread runs the model (each mode's batches in turn:
plain, test-time augmented, mirrored where busy).

Until the model is loaded /ready answers 503 and /remove 503 not_ready; /health answers at once
(with --workers N > 1 a worker accepts connections only once its model is loaded: app.py).
A model that fails to load (a weights file broken after the start-up check) ends the process with
uvicorn's start-up failure code, so neither uvicorn's supervisor nor an orchestrator keeps a
server that can never be ready.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from bgremove.server.admission import Admission, call_soon
from bgremove.server.batcher import MicroBatcher
from bgremove.server.options import ServeOptions

log = logging.getLogger("bgremove.server")
STARTUP_FAILURE = 3  # uvicorn's code for "failed before serving": its supervisor stops, not restarts


def _exit_startup_failure(exc: BaseException) -> None:
    log.error("bgremove serve: error: the model could not be loaded: %s", exc)
    os._exit(STARTUP_FAILURE)  # from the loader's thread: the one way to end the server process


class ModelHost:
    def __init__(self, options: ServeOptions, *, backend_factory: Callable[[], Any] | None = None,
                 on_fatal: Callable[[BaseException], None] = _exit_startup_failure) -> None:
        self.options = options
        self.admission = Admission(options.queue)
        self.io = ThreadPoolExecutor(options.n_io_threads(), thread_name_prefix="bgremove-io")
        self.loader = ThreadPoolExecutor(1, thread_name_prefix="bgremove-load")
        self.batcher: MicroBatcher | None = None
        self.model_name: str | None = None
        self.load_seconds: float | None = None
        self._backend_factory = backend_factory
        self._on_fatal = on_fatal
        self._stopping = False

    @property
    def ready(self) -> bool:
        return self.batcher is not None

    def start(self) -> asyncio.Future:
        """Begin loading (called in the event loop at start-up); await the answer to wait for it."""
        loop = asyncio.get_running_loop()
        job = self.loader.submit(self._load)
        done = loop.create_future()
        job.add_done_callback(lambda j: call_soon(loop, lambda: self._loaded(j, done)))
        return done

    def _load(self) -> dict[tuple[bool, bool], Any]:
        import cv2

        from bgremove.inference.backends import load_backend, resolve_weights
        from bgremove.inference.remover import Remover

        start = time.perf_counter()
        o = self.options
        cv2.setNumThreads(o.n_threads())
        # batched: concurrent requests share model batches, so the default is the fp32 file,
        # whose answers do not depend on the batch (bgremove/inference/backends/__init__.py).
        backend = self._backend_factory() if self._backend_factory else load_backend(
            o.weights, device=o.device, threads=o.n_threads(), preset=o.preset, batched=True)
        # Removers over one backend (one model in memory), one per Rendering.mode: TTA and the
        # mirror for busy scenes (the level the weights store) are per-request options.
        removers = {(tta, mirror): Remover(backend=backend, tta=tta, batch_size=o.max_batch,
                                           mirror_busy=None if mirror else 0.0)
                    for tta, mirror in ((False, False), (True, False), (False, True))}
        self.load_seconds = time.perf_counter() - start
        self.model_name = (backend.name if self._backend_factory
                           else resolve_weights(o.weights, int8=False).name)
        return removers

    def _loaded(self, job: Future, done: asyncio.Future) -> None:
        if job.cancelled() or self._stopping:  # the server stopped before the model was there
            return
        try:
            removers = job.result()
        except Exception as exc:  # noqa: BLE001 - anything here means no model, ever
            self._on_fatal(exc)
            return
        batcher = MicroBatcher({mode: r.masks for mode, r in removers.items()},
                               self.options.max_batch, self.options.batch_wait_ms / 1000.0)
        batcher.start()
        self.batcher = batcher
        log.info("model %s loaded in %.1f s; ready", self.model_name, self.load_seconds)
        if not done.done():
            done.set_result(None)

    async def stop(self) -> None:
        self._stopping = True
        if self.batcher is not None:
            await asyncio.to_thread(self.batcher.stop)
        self.io.shutdown(wait=False, cancel_futures=True)
        self.loader.shutdown(wait=False, cancel_futures=True)
