"""The CUDA path of `bgremove run`: one process owns the GPU and feeds it batches of images that
share a network input shape, while a thread pool decodes the next images and encodes/writes the
finished ones (PIL and OpenCV release the GIL, so the threads overlap with inference).

Memory is bounded: at most 2 x batch_size images are decoded ahead, held waiting for a batch
partner, or waiting to be written.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from bgremove.batch.report import ImageResult
from bgremove.batch.worker import (
    Task,
    WorkerConfig,
    failed_result,
    from_cache,
    get_remover,
    read_task_image,
    write_outputs,
)
from bgremove.errors import ConfigError
from bgremove.inference.preprocess import fit_size

Finish = Callable[[Task | None, ImageResult], None]


def input_shape(pre: Any, h: int, w: int) -> tuple[int, int]:
    """The (H, W) the network sees for an h x w image: images with equal shapes share a batch."""
    return pre.network_shape(*fit_size(h, w, pre.input_size, pre.multiple))


def _read_timed(config: WorkerConfig, task: Task) -> tuple[Any, float, Any]:
    """(image, start, None), or (None, start, the image's result) when it failed or was
    rendered from its cached mask here, in a reading thread, without the GPU."""
    start = time.perf_counter()
    try:
        image = read_task_image(config, task.path)
        done = from_cache(config, task, image, start)
        return (None, start, done) if done is not None else (image, start, None)
    except Exception as exc:  # noqa: BLE001 - reported as this image's failure
        return None, start, failed_result(task, exc, start)


class _Batcher:
    def __init__(self, config: WorkerConfig, finish: Finish, batch_size: int,
                 pool: ThreadPoolExecutor) -> None:
        self.config, self.finish, self.batch_size, self.pool = config, finish, batch_size, pool
        self.remover: Any = None  # loaded on the first image: nothing to do loads nothing
        self.groups: dict[tuple[int, int], list[tuple[Task, Any, float]]] = {}
        self.held = 0
        self.writes: deque[tuple[Task, float, Future]] = deque()

    def add(self, task: Task, image: Any, start: float) -> None:
        if self.remover is None:
            self.remover = get_remover(self.config)
        h, w = image.rgb.shape[:2]
        group = self.groups.setdefault(input_shape(self.remover.preprocessing, h, w), [])
        group.append((task, image, start))
        self.held += 1
        if len(group) >= self.batch_size:
            self._run(group)
        elif self.held > 2 * self.batch_size:  # odd shapes must not pile up: run the largest
            self._run(max(self.groups.values(), key=len))

    def flush(self) -> None:
        for group in list(self.groups.values()):
            if group:
                self._run(group)
        self.drain(0)

    def _run(self, group: list[tuple[Task, Any, float]]) -> None:
        items = group[:]
        group.clear()
        self.held -= len(items)
        try:
            alphas = self.remover.masks([image for _, image, _ in items])
        except ConfigError:
            raise
        except Exception as exc:  # noqa: BLE001 - a failing batch fails its images, not the run
            for task, _, start in items:
                self.finish(task, failed_result(task, exc, start))
            return
        for (task, image, start), alpha in zip(items, alphas, strict=True):
            fut = self.pool.submit(write_outputs, self.config, task, image, alpha, start,
                                   self.remover.preprocessing.sharpen)
            self.writes.append((task, start, fut))
        self.drain(2 * self.batch_size)

    def drain(self, keep: int) -> None:
        while self.writes and (len(self.writes) > keep or self.writes[0][2].done()):
            task, start, fut = self.writes.popleft()
            exc = fut.exception()
            self.finish(task, fut.result() if exc is None else failed_result(task, exc, start))


def run_batched(config: WorkerConfig, tasks: Iterator[Task], finish: Finish,
                should_stop: Callable[[], bool], batch_size: int, io_threads: int) -> None:
    """Process `tasks` on one device in shape-grouped batches (see module docstring)."""
    pool = ThreadPoolExecutor(max(1, io_threads))
    try:
        batcher = _Batcher(config, finish, batch_size, pool)
        reads: deque[tuple[Task, Future]] = deque()
        while True:
            while len(reads) < 2 * batch_size and not should_stop():
                task = next(tasks, None)
                if task is None:
                    break
                reads.append((task, pool.submit(_read_timed, config, task)))
            if not reads:
                break
            task, fut = reads.popleft()
            image, start, done = fut.result()
            if done is not None:
                finish(task, done)
            else:
                batcher.add(task, image, start)
        batcher.flush()
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)  # abort: queued reads/writes never start
        raise
    pool.shutdown(wait=True)
