"""Micro-batching: concurrent requests' images go to the model together.

Requests put their decoded image in the batcher and await its mask. The batcher's own thread (the
process's one model thread) takes the waiting images of one kind (a Rendering's mode),
up to `max_batch`, giving the first one at most `wait_s` to find company, runs them as one
`masks` call, hands each mask back to its request's event loop and takes the next batch at once.
While a batch runs, new requests queue up for the next one, so under load batches fill by
themselves and a lone request waits only `wait_s`. The model thread never waits for the event loop
between batches: with decoding and encoding threads holding the GIL in turns, a hand-over through
the loop for every batch would leave the model idle until the loop got round to it.

The queue is not bounded here: Admission bounds the requests that can be in it. Batching does
not change a mask: the network's answers do not depend on the batch (checked bit-exact for the
bundled fp32 weights on onnxruntime's CPU provider, the server's default; int8 files do not have
this property, see bgremove/inference/backends/__init__.py), and everything else is per image.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import queue
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger("bgremove.server")

MasksFn = Callable[[Sequence[Any]], list[np.ndarray]]
_STOP = object()


@dataclass
class _Item:
    image: Any
    kind: Hashable
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop


class MicroBatcher:
    def __init__(self, masks: dict[Hashable, MasksFn], max_batch: int, wait_s: float) -> None:
        self._masks = masks
        self.max_batch = max_batch
        self.wait_s = wait_s
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._pending: collections.deque[_Item] = collections.deque()  # taken, other kind
        self._thread = threading.Thread(target=self._work, name="bgremove-model", daemon=True)
        self.batches: collections.Counter[int] = collections.Counter()  # batch size -> count

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the batch in progress, then fail whatever still waits."""
        self._queue.put(_STOP)
        self._thread.join(timeout)

    async def mask(self, image: Any, kind: Hashable = False) -> tuple[np.ndarray, int]:
        """The image's mask, and the size of the batch it was computed in."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put(_Item(image, kind, future, loop))
        return await future

    def _work(self) -> None:
        while True:
            batch = self._collect()
            if batch is None:
                break
            if batch:
                self._run(batch)
        left = list(self._pending)
        while True:
            try:
                left.append(self._queue.get_nowait())
            except queue.Empty:
                break
        for item in left:
            if item is not _STOP:
                _post(item, exc=RuntimeError("the server is shutting down"))

    def _collect(self) -> list[_Item] | None:
        """The next batch: [] when all it found had gone away; None once stopped."""
        first = self._pending.popleft() if self._pending else self._queue.get()
        if first is _STOP:
            return None
        batch = [first]
        deadline = time.monotonic() + self.wait_s
        for item in list(self._pending):  # kept from an earlier batch of the other kind
            if len(batch) < self.max_batch and item.kind == first.kind:
                self._pending.remove(item)
                batch.append(item)
        while len(batch) < self.max_batch:
            left = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                self._queue.put(_STOP)  # stop after this batch
                break
            (batch if item.kind == first.kind else self._pending).append(item)
            batch = [i for i in batch if not i.future.done()]  # requests that went away
        return [i for i in batch if not i.future.done()]

    def _run(self, batch: list[_Item]) -> None:
        self.batches[len(batch)] += 1
        try:
            alphas = self._masks[batch[0].kind]([i.image for i in batch])
        except Exception as exc:  # noqa: BLE001 - answered per image
            if len(batch) > 1:  # one bad image must not fail its neighbours: each alone
                for item in batch:
                    self._run([item])
                return
            log.warning("mask failed: %s: %s", type(exc).__name__, exc)
            _post(batch[0], exc=exc)
            return
        for item, alpha in zip(batch, alphas, strict=True):
            _post(item, (alpha, len(batch)))


def _post(item: _Item, value: Any = None, exc: BaseException | None = None) -> None:
    """Settle the item's future in its own event loop (futures are not thread-safe)."""
    def settle() -> None:
        if item.future.done():
            return
        if exc is not None:
            item.future.set_exception(exc)
        else:
            item.future.set_result(value)

    try:
        item.loop.call_soon_threadsafe(settle)
    except RuntimeError:  # that loop is closed: nobody waits any more
        pass
