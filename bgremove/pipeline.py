"""`bgremove run`: every image under IN_DIR through the model into OUT_DIR, resumable and bounded.

The parent process only walks the tree, consults the manifest, dispatches and records: it never
loads a model or holds pixels. On CPU each worker process (loky, the executor joblib uses) keeps
one model session for its life and does read -> mask -> render -> write atomically for one image
per task, so decoding, inference and PNG encoding of different images overlap; only a small
ImageResult comes back. At most 2 x workers tasks are in flight, so memory does not grow with
the size of the folder. On CUDA one process batches images onto the GPU (gpubatch.py).

Stopping: the first SIGINT/SIGTERM stops dispatching, lets in-flight images finish, flushes the
manifest and report, and returns a summary whose exit code is 128 + the signal number; a second
signal kills the workers at once. Either way the next run resumes.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from joblib.externals.loky import BrokenProcessPool

from bgremove.compose import OutputOptions, output_names
from bgremove.discover import DiscoveryStats, count_images, iter_images, output_paths
from bgremove.errors import ConfigError
from bgremove.lock import RunLock
from bgremove.manifest import Manifest, options_key
from bgremove.report import ImageResult, Progress, ReportWriter, RunSummary, format_summary
from bgremove.runopts import RunOptions, check_paths
from bgremove.worker import Task, WorkerConfig, process_one, worker_init

_MANIFEST_VERSION = 1


def run(options: RunOptions) -> RunSummary:
    """Process IN_DIR into OUT_DIR. Raises ConfigError (exit 2) for bad options, an unusable
    model or a second run on the same OUT_DIR; bad images never raise, they are counted."""
    options.validate()
    in_dir, out_dir = check_paths(options)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        lock = RunLock(out_dir).acquire()
    except OSError as exc:
        raise ConfigError(f"cannot write to the output folder {out_dir}: {exc}") from None
    try:
        with Manifest(out_dir) as manifest, _StopFlag() as stop:
            return _Run(options, in_dir, out_dir, manifest, stop).execute()
    finally:
        lock.release()


class _StopFlag:
    """First SIGINT/SIGTERM: remember it (the loop stops dispatching). Second: abort now."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> _StopFlag:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _model_identity(options: RunOptions, manifest: Manifest) -> str:
    """What identifies the model's behaviour: the weights' content hash, not their path.
    Resolving the weights here also turns a missing file into a ConfigError before any work."""
    factory = options.backend_factory
    if factory is not None:
        return f"factory:{factory.__module__}.{factory.__qualname__}"
    from bgremove.backends import resolve_weights

    return "sha256:" + manifest.weights_digest(resolve_weights(options.weights))


class _Run:
    def __init__(self, options: RunOptions, in_dir: Path, out_dir: Path, manifest: Manifest,
                 stop: _StopFlag) -> None:
        self.options, self.in_dir, self.out_dir = options, in_dir, out_dir
        self.manifest, self.stop = manifest, stop
        self.summary = RunSummary()
        self.stats = DiscoveryStats()
        self.gpu = _use_gpu(options)
        self.config = WorkerConfig.from_options(options, "cuda" if self.gpu else "cpu")
        self.output: OutputOptions = options.output
        self.key = options_key({
            "v": _MANIFEST_VERSION, "output": asdict(options.output), "tta": options.tta,
            "preset": options.preset, "model": _model_identity(options, manifest),
        })
        self.stopped = False
        self.announced = False

    def execute(self) -> RunSummary:
        start = time.monotonic()
        opts = self.options
        self.report = ReportWriter(opts.report)
        total = count_images(self.in_dir) if opts.progress != "quiet" else None
        self.progress = Progress(opts.progress, total, opts.log_interval)
        if self.manifest.warning:
            self.summary.warnings.append(self.manifest.warning)
        try:
            tasks = self._tasks()
            if self.gpu:
                from bgremove.gpubatch import run_batched

                run_batched(self.config, tasks, self._finish, self._should_stop,
                            opts.batch_size, opts.n_workers())
            elif opts.n_workers() == 1:
                self._run_inline(tasks)
            else:
                self._run_pool(tasks)
        except KeyboardInterrupt:
            self.stop.signum = self.stop.signum or signal.SIGINT
        finally:
            self.manifest.flush()
            self.report.close()
            self.progress.close()
        self.summary.interrupted = self.stop.signum
        self.summary.ignored = self.stats.ignored
        self.summary.elapsed_s = time.monotonic() - start
        self.progress.log(format_summary(self.summary))
        return self.summary

    def _should_stop(self) -> bool:
        if self.stop.signum is not None and not self.announced:
            self.announced = True
            self.progress.log("bgremove: stopping after the images in progress (signal again "
                              "to stop at once)")
        return self.stopped or self.stop.signum is not None

    def _tasks(self) -> Iterator[Task]:
        """Images still to do, streamed; unchanged ones are reported as skipped on the way."""
        opts = self.options
        for found in iter_images(self.in_dir, self.stats):
            if self._should_stop():
                return
            if found.error is not None:
                self._finish(None, ImageResult(found.rel, "failed", error=found.error))
                continue
            names = output_names(found.stem, self.output)
            outs = output_paths(self.out_dir, found, names)
            rel_outs = [os.path.relpath(p, self.out_dir).replace(os.sep, "/")
                        for p in outs.values()]
            task = Task(found.path, found.rel, found.size, found.mtime_ns, outs, rel_outs)
            if not opts.force and self.manifest.is_done(
                    found.rel, found.size, found.mtime_ns, self.key, rel_outs):
                self._finish(None, ImageResult(found.rel, "skipped", outputs=rel_outs))
                continue
            yield task

    def _finish(self, task: Task | None, result: ImageResult) -> None:
        """Record one result: manifest row (only once every output is written), report,
        progress, and the fail-fast / test stop conditions."""
        if task is not None and result.status == "ok":
            self.manifest.record(task.rel, task.size, task.mtime_ns, self.key, task.rel_outputs)
        self.summary.add(result)
        self.report.write(result)
        self.progress.update(result.status)
        if result.status == "failed" and self.options.fail_fast:
            self.stopped = self.summary.stopped_early = True
        limit = self.options._stop_after
        if limit is not None and self.summary.processed >= limit and self.stop.signum is None:
            self.stop.signum = signal.SIGTERM

    def _run_inline(self, tasks: Iterator[Task]) -> None:
        for task in tasks:
            self._finish(task, process_one(self.config, task))

    def _run_pool(self, tasks: Iterator[Task]) -> None:
        from joblib.externals.loky import FIRST_COMPLETED, get_reusable_executor, wait

        n = self.options.n_workers()
        executor, pending = None, {}
        try:
            while True:
                while len(pending) < 2 * n and not self._should_stop():
                    task = next(tasks, None)
                    if task is None:
                        break
                    with _sigint_ignored():
                        if executor is None:  # lazily: a run with nothing to do loads nothing
                            executor = get_reusable_executor(max_workers=n,
                                                             initializer=worker_init)
                        pending[executor.submit(process_one, self.config, task)] = task
                if not pending:
                    return
                done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for fut in done:
                    task = pending.pop(fut)
                    self._finish(task, _pool_result(fut, task))
                    if isinstance(fut.exception(), BrokenProcessPool):
                        executor = None  # loky replaces a broken pool on the next request
        except BaseException:
            if executor is not None:
                executor.shutdown(wait=True, kill_workers=True)
                _remove_partial(pending.values())
            raise


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored while loky may spawn workers: a child inherits SIG_IGN through exec, so
    the terminal's Ctrl-C (sent to the whole process group) cannot kill a worker that is still
    starting up, before worker_init runs. The window is one submit call."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _remove_partial(tasks) -> None:
    """Delete the temporary files of writes cut short by killing the workers (write_atomic's
    `.<name>.*.tmp`); the outputs themselves are either complete or absent."""
    for task in tasks:
        for path in task.outputs.values():
            folder, name = os.path.split(path)
            for tmp in Path(folder).glob(f".{glob.escape(name)}.*.tmp"):
                tmp.unlink(missing_ok=True)


def _pool_result(fut, task: Task) -> ImageResult:
    exc = fut.exception()
    if exc is None:
        return fut.result()
    if isinstance(exc, BrokenProcessPool):
        # A worker died (killed for memory, segfault in a decoder). Every image in flight is
        # marked failed; none is recorded, so the next run retries them.
        codes = re.search(r"exit codes of the workers are (\{[^}]*\})", str(exc))
        detail = f" with exit code {codes.group(1)}" if codes else ""
        return ImageResult(task.rel, "failed", error=f"worker process died{detail} while it "
                           "held this image (out of memory? a crash in a decoder?)")
    raise exc


def _use_gpu(options: RunOptions) -> bool:
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
    try:
        import onnxruntime
    except ImportError:
        return False
    has_gpu = os.path.exists("/dev/nvidiactl") or os.path.exists("/proc/driver/nvidia")
    return has_gpu and "CUDAExecutionProvider" in onnxruntime.get_available_providers()


__all__ = ["run", "RunOptions", "RunSummary", "ConfigError"]
