"""MicroBatcher and Admission on their own, with a stand-in for the model: batches fill under load,
every image gets its own mask back, a failing batch is retried image by image, requests that went
away are skipped, and a ticket stays taken while its thread work runs."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from bgremove.server.admission import Admission
from bgremove.server.batcher import MicroBatcher


class Model:
    """masks(images) -> each image's own value as a 1x1 mask; records every batch."""

    def __init__(self, delay: float = 0.0, bad: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.delay, self.bad = delay, bad

    def __call__(self, images):
        self.batches.append(list(images))
        time.sleep(self.delay)
        if self.bad in images:
            raise ValueError(f"cannot do {self.bad}")
        return [np.full((1, 1), i, np.float32) for i in images]


def _batcher(model, max_batch=4, wait=0.05, tta_model=None):
    b = MicroBatcher({False: model, True: tta_model or model}, max_batch, wait)
    b.start()
    return b


def test_concurrent_requests_share_batches_and_get_their_own_masks():
    async def main():
        model = Model(delay=0.05)
        b = _batcher(model, max_batch=4)
        results = await asyncio.gather(*(b.mask(i) for i in range(10)))
        b.stop()
        return model, results

    model, results = asyncio.run(main())
    assert [float(a[0, 0]) for a, _ in results] == list(range(10))
    assert sorted(i for batch in model.batches for i in batch) == list(range(10))
    assert max(len(batch) for batch in model.batches) == 4
    assert len(model.batches) == 3  # 4 + 4 + 2
    assert [n for _, n in results][:4] == [4, 4, 4, 4]


def test_a_lone_request_waits_only_the_batch_wait():
    async def main():
        b = _batcher(Model(), max_batch=8, wait=0.05)
        start = time.perf_counter()
        _, n = await b.mask(1)
        took = time.perf_counter() - start
        b.stop()
        return took, n

    took, n = asyncio.run(main())
    assert n == 1 and 0.04 <= took < 1.0


def test_a_failing_image_fails_alone():
    async def main():
        model = Model(bad=2)
        b = _batcher(model, max_batch=4)
        results = await asyncio.gather(*(b.mask(i) for i in range(4)), return_exceptions=True)
        b.stop()
        return model, results

    model, results = asyncio.run(main())
    assert isinstance(results[2], ValueError)
    assert [float(results[i][0][0, 0]) for i in (0, 1, 3)] == [0, 1, 3]
    assert model.batches[0] == [0, 1, 2, 3] and [0] in model.batches and [3] in model.batches


def test_requests_that_went_away_are_skipped():
    async def main():
        model = Model()
        b = _batcher(model, max_batch=4, wait=0.2)
        gone = asyncio.ensure_future(b.mask(99))
        await asyncio.sleep(0.01)
        gone.cancel()
        _, n = await b.mask(1)
        b.stop()
        return model, n

    model, n = asyncio.run(main())
    assert model.batches == [[1]] and n == 1


def test_admission_refuses_past_its_limit_and_waits_for_thread_work():
    async def main():
        admission = Admission(2)
        a, b = admission.enter(), admission.enter()
        assert admission.enter() is None
        b.close()
        assert admission.taken == 1
        release = threading.Event()
        pool = ThreadPoolExecutor(1)
        job = asyncio.ensure_future(a.run(pool, release.wait, 5))
        await asyncio.sleep(0.05)
        job.cancel()  # the request timed out; its thread work goes on
        a.close()
        await asyncio.sleep(0.05)
        still = admission.taken
        release.set()
        await asyncio.sleep(0.1)
        return still, admission.taken

    assert asyncio.run(main()) == (1, 0)


def test_kinds_are_never_mixed_in_a_batch():
    async def main():
        plain, tta = Model(delay=0.02), Model(delay=0.02)
        b = _batcher(plain, max_batch=4, wait=0.05, tta_model=tta)
        results = await asyncio.gather(*(b.mask(i, kind=i % 2 == 1) for i in range(12)))
        b.stop()
        return plain, tta, results

    plain, tta, results = asyncio.run(main())
    assert [float(a[0, 0]) for a, _ in results] == list(range(12))
    assert all(i % 2 == 0 for batch in plain.batches for i in batch)
    assert all(i % 2 == 1 for batch in tta.batches for i in batch)
    assert max(len(b) for b in plain.batches + tta.batches) > 1


def test_stop_fails_what_still_waits():
    async def main():
        b = _batcher(Model(delay=0.2), max_batch=1, wait=0.0)
        first = asyncio.ensure_future(b.mask(1))
        await asyncio.sleep(0.05)  # 1 is running: stop lets it finish
        second = asyncio.ensure_future(b.mask(2, kind=True))
        third = asyncio.ensure_future(b.mask(3))
        await asyncio.sleep(0.01)
        await asyncio.to_thread(b.stop)
        return await asyncio.gather(first, second, third, return_exceptions=True)

    first, *rest = asyncio.run(main())
    assert float(first[0][0, 0]) == 1
    # What was queued behind it is either done or failed, never left hanging.
    assert all(isinstance(r, (tuple, RuntimeError)) for r in rest)


@pytest.mark.parametrize("wait", [0.0, 0.01])
def test_no_wait_still_batches_what_queued_meanwhile(wait):
    async def main():
        model = Model(delay=0.05)
        b = _batcher(model, max_batch=8, wait=wait)
        await asyncio.gather(*(b.mask(i) for i in range(6)))
        b.stop()
        return model

    model = asyncio.run(main())
    assert len(model.batches) < 6
