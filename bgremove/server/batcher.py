"""Micro-batching: concurrent requests' images go to the model together.

Each request puts its decoded image in the batcher and awaits its mask. One loop takes the
waiting images, up to `max_batch`, giving the first one at most `wait_s` to find company, and
runs them as one call of `masks` in the model's own thread; meanwhile new requests queue up for
the next batch. So under load batches fill by themselves, and a lone request waits only
`wait_s`. The queue itself is not bounded here: Admission bounds the requests that can be in it.

Batching does not change a mask: the network's answers do not depend on the batch (checked
bit-exact for the bundled weights on onnxruntime's CPU provider), and everything else is per image.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger("bgremove.server")

MasksFn = Callable[[Sequence[Any]], list[np.ndarray]]


@dataclass
class _Item:
    image: Any
    future: asyncio.Future


class MicroBatcher:
    def __init__(self, masks: MasksFn, executor: Executor, max_batch: int, wait_s: float) -> None:
        self._masks = masks
        self._executor = executor
        self.max_batch = max_batch
        self.wait_s = wait_s
        self._items: collections.deque[_Item] = collections.deque()
        self._arrived = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.batches: collections.Counter[int] = collections.Counter()  # batch size -> count

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for item in self._items:
            if not item.future.done():
                item.future.set_exception(RuntimeError("the server is shutting down"))

    async def mask(self, image: Any) -> tuple[np.ndarray, int]:
        """The image's mask, and the size of the batch it was computed in."""
        future = asyncio.get_running_loop().create_future()
        self._items.append(_Item(image, future))
        self._arrived.set()
        return await future

    async def _loop(self) -> None:
        while True:
            batch = await self._collect()
            if batch:
                await self._run(batch)

    async def _collect(self) -> list[_Item]:
        while not self._items:
            self._arrived.clear()
            await self._arrived.wait()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_s
        while len(self._live()) < self.max_batch and (left := deadline - loop.time()) > 0:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except asyncio.TimeoutError:
                break
        batch: list[_Item] = []
        while self._items and len(batch) < self.max_batch:
            item = self._items.popleft()
            if not item.future.done():  # a request that timed out or went away: skip its image
                batch.append(item)
        return batch

    def _live(self) -> list[_Item]:
        return [i for i in self._items if not i.future.done()]

    async def _run(self, batch: list[_Item]) -> None:
        loop = asyncio.get_running_loop()
        self.batches[len(batch)] += 1
        try:
            alphas = await loop.run_in_executor(self._executor, self._masks,
                                                [i.image for i in batch])
        except Exception as exc:  # noqa: BLE001 - answered per image below
            if len(batch) > 1:  # one bad image must not fail its neighbours: each alone
                for item in batch:
                    await self._run([item])
                return
            log.warning("mask failed: %s: %s", type(exc).__name__, exc)
            _settle(batch[0].future, exc=exc)
            return
        for item, alpha in zip(batch, alphas, strict=True):
            _settle(item.future, (alpha, len(batch)))


def _settle(future: asyncio.Future, value: Any = None, exc: BaseException | None = None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(value)
