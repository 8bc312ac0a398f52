"""`bgremove run --backend local` (the default): this machine's CPU processes or its GPU.

On CPU each worker process (pool.py) keeps one model session for its life
and does read -> mask -> render -> write atomically for one image per task, so decoding,
inference and PNG encoding of different images overlap; only a small ImageResult comes back. At
most 2 x workers tasks are in flight, so memory does not grow with the size of the folder, and
they are handed out largest first within a window (schedule.py), so a run does not end with one
worker busy on a big photo while the others idle. On CUDA one process batches images onto the
GPU (gpu.py).

Stopping (driver.py's driver decides): dispatching stops and in-flight images finish; on a
second signal the driver raises KeyboardInterrupt and the workers are killed at once.
"""

from __future__ import annotations

import itertools
import os
import signal
from collections.abc import Iterator

from bgremove.batch.dispatch import Driver, remove_partial
from bgremove.batch.options import RunOptions
from bgremove.batch.report import ImageResult
from bgremove.batch.schedule import largest_first
from bgremove.batch.stopping import held_signals
from bgremove.batch.worker import Task, WorkerConfig, process_one, worker_init


def dispatch(driver: Driver, tasks: Iterator[Task]) -> None:
    opts = driver.options
    gpu = use_gpu(opts)
    config = WorkerConfig.from_options(opts, "cuda" if gpu else "cpu")
    if gpu:
        from bgremove.batch.gpu import run_batched

        run_batched(config, tasks, driver.finish, driver.should_stop, opts.batch_size,
                    opts.n_workers())
    elif opts.n_workers() == 1:
        for task in tasks:
            driver.finish(task, process_one(config, task))
    else:
        _run_pool(driver, config, tasks)


def _run_pool(driver: Driver, config: WorkerConfig, tasks: Iterator[Task]) -> None:
    n = driver.options.n_workers()
    tasks = largest_first(tasks)
    first = next(tasks, None)
    if first is None:  # nothing to do (a cron run that finds nothing new): nothing loaded
        return
    tasks = itertools.chain([first], tasks)
    from concurrent.futures import FIRST_COMPLETED, wait

    from bgremove.batch.pool import BrokenProcessPool, WorkerPool

    pool, pending = None, {}
    try:
        while True:
            while len(pending) < 2 * n and not driver.should_stop():
                task = next(tasks, None)
                if task is None:
                    break
                with held_signals():  # a worker may be spawned here: see stopping.py
                    if pool is None:  # lazily: a run with nothing to do loads nothing
                        pool = WorkerPool(n, worker_init, (os.getpid(),))
                    pending[pool.submit(process_one, config, task)] = task
            if not pending:
                break
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            codes = ""
            if any(isinstance(fut.exception(), BrokenProcessPool) for fut in done):
                # A worker died: every image in flight fails with it (the pool settles them
                # all before `kill` returns) and a new pool takes the next ones.
                codes = pool.exit_codes()
                pool.kill()
                pool, done = None, list(pending)
            for fut in done:
                task = pending.pop(fut)
                driver.finish(task, _pool_result(fut, task, driver.stop_signal(), codes))
                if isinstance(fut.exception(), BrokenProcessPool):
                    remove_partial([task], config.in_root)  # a killed worker's temporary file
    except BaseException:
        if pool is not None:
            pool.kill()
            remove_partial(pending.values(), config.in_root)
        raise
    if pool is not None:
        # Every task has returned, its files written: all a worker has left is its
        # interpreter's teardown (the model, numpy, OpenCV), which nobody waits for: a shutdown
        # that waited took 0.22 s at the end of each run on an idle 2-core machine and 0.84 s
        # on a busy one; with the workers killed, 0.09 s and 0.27 s. No worker outlives a run
        # (cron, a script, a service calling run()), holding memory and a model.
        pool.kill()


def _pool_result(fut, task: Task, stop_signal: int | None, exit_codes: str = "") -> ImageResult:
    from bgremove.batch.pool import BrokenProcessPool

    exc = fut.exception()
    if exc is None:
        return fut.result()
    if isinstance(exc, BrokenProcessPool):
        if stop_signal is not None:  # killed along with the run (systemd's final SIGKILL)
            return ImageResult(task.rel, "stopped", error=_stopped(stop_signal))
        # A worker died (killed for memory, segfault in a decoder). Every image in flight is
        # marked failed; none is recorded, so the next run retries them.
        detail = f" with exit code {exit_codes}" if exit_codes else ""
        return ImageResult(task.rel, "failed", error=f"worker process died{detail} while it "
                           "held this image (out of memory? a crash in a decoder?)")
    raise exc


def _stopped(signum: int) -> str:
    return (f"stopped by {signal.Signals(signum).name} before it finished; the next run "
            "redoes it")


def use_gpu(options: RunOptions) -> bool:
    """device=auto: the GPU path when the weights' runtime can use CUDA and a GPU is present
    (onnxruntime-gpu lists its CUDA provider even on machines without a GPU)."""
    if options.device != "auto":
        return options.device == "cuda"
    if options.backend_factory is not None:
        return False
    if str(options.weights or "").lower().endswith((".pth", ".pt")):
        try:
            import torch
        except ImportError:
            return False  # the worker reports the missing extra
        return bool(torch.cuda.is_available())
    # On a machine without a GPU the parent never imports onnxruntime (~0.25 s of CPU before
    # the first worker can start, and its memory for the whole run).
    from bgremove.inference.backends import cuda_usable

    return cuda_usable()
