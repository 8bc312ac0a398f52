"""`bgremove run`: every image under IN_DIR through the model into OUT_DIR, resumable and bounded.

This module is the driver, the same for every backend: it walks the tree, consults the manifest,
hands the images still to do to a backend (dispatch.py: local.py on this machine,
ray_backend.py on a Ray cluster) and records each result as it comes back: manifest row, report
line, progress, summary and exit code. It never loads a model or holds pixels.

Configuration (options, paths, weights) is checked before OUT_DIR is touched, so a typo never
leaves an empty output folder, a manifest or a lock behind.

Stopping (stopping.py): the first SIGINT/SIGTERM stops dispatching (the local backend lets
in-flight images finish), flushes the manifest and report, and returns a summary whose exit code
is 128 + the signal number; a second signal stops at once. Either way the next run resumes.

Temporary files (safewrite.py): each output folder is cleared of stale ones before the run's
first image there, and the folders this run wrote to are cleared at its end.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

from bgremove.batch import maskcache, storage
from bgremove.batch.discover import DiscoveryStats, Found, count_images
from bgremove.batch.dispatch import Dispatch
from bgremove.batch.lock import RunLock
from bgremove.batch.manifest import Manifest
from bgremove.batch.options import RunOptions, check_paths
from bgremove.batch.plan import UNCHANGED, Keys, in_folder, model_identity, plan, run_keys, weights_file
from bgremove.batch.progress import Progress
from bgremove.batch.report import ImageResult, ReportWriter, RunSummary, format_summary
from bgremove.batch.stopping import StopFlag
from bgremove.batch.storage import Location
from bgremove.batch.worker import Task
from bgremove.errors import ConfigError
from bgremove.imaging.outputs import OutputOptions, output_names
from bgremove.imaging.safewrite import remove_temps

_MAX_CLEAN_FOLDERS = 100_000  # folders remembered for the end-of-run clean-up (memory bound)


def run(options: RunOptions) -> RunSummary:
    """Process IN_DIR into OUT_DIR. Raises ConfigError (exit 2) for bad options, an unusable
    model or a second run on the same OUT_DIR; bad images never raise, they are counted."""
    options.validate()
    dispatch = _backend(options)  # a missing extra fails here, before anything is written
    in_dir, out_dir = check_paths(options)
    weights = weights_file(options)  # a missing weights file too
    try:
        state = storage.state_dir(out_dir)  # OUT itself, or a URL OUT's local folder
        state.mkdir(parents=True, exist_ok=True)
        lock = RunLock(state).acquire()
    except OSError as exc:
        raise ConfigError(f"cannot write to the output folder {out_dir}: {exc}") from None
    size_of = storage.OutputIndex(out_dir) if storage.is_url(out_dir) else None
    try:
        with Manifest(state, size_of) as manifest, StopFlag() as stop:
            keys = run_keys(options, model_identity(options, weights, manifest))
            if (folder := in_folder(in_dir)) is not None:
                manifest.set_meta("in_dir", folder)  # where `bgremove review` finds originals
            return _Run(options, in_dir, out_dir, manifest, stop, keys).execute(dispatch)
    finally:
        lock.release()


def _backend(options: RunOptions) -> Dispatch:
    if options.backend == "ray":
        from bgremove.batch.ray_backend import dispatch, require_ray

        require_ray(options.address)
        return dispatch
    from bgremove.batch.local import dispatch

    return dispatch


class _Run:
    """One run's driver state; passed to the backend as its dispatch.Driver."""

    def __init__(self, options: RunOptions, in_dir: Location, out_dir: Location,
                 manifest: Manifest, stop: StopFlag, keys: Keys) -> None:
        self.options, self.in_dir, self.out_dir = options, in_dir, out_dir
        self.manifest, self.stop = manifest, stop
        self.summary = RunSummary()
        self.stats = DiscoveryStats()
        self.output: OutputOptions = options.output
        self.suffixes = list(output_names("", options.output).values())
        self.keys = keys
        self.stopped = False
        self.announced = False
        self.written_folders: set[str] = set()  # OUT folders given work (temp clean-up)
        self.in_root = None if storage.is_url(in_dir) else str(in_dir)  # resolved by check_paths
        self.stop_message = ("bgremove: stopping after the images in progress (signal again to "
                             "stop at once)")

    def execute(self, dispatch: Dispatch) -> RunSummary:
        start = time.monotonic()
        opts = self.options
        self.report = ReportWriter(opts.report)
        # A bucket is not listed twice just for a total.
        local = not storage.is_url(self.in_dir)
        total = count_images(Path(self.in_dir)) if opts.progress != "quiet" and local else None
        self.progress = Progress(opts.progress, total, opts.log_interval)
        try:
            self._clean_mask_cache()  # a killed run's half-written masks
            self._dispatch(dispatch)
            self._clean_mask_cache()  # this run's, when it was stopped with writes in flight
            s = self.summary
            s.elapsed_s = time.monotonic() - start
            # Failures (and whatever else went wrong) reach stderr even with --progress quiet.
            trouble = s.failed or s.damaged or s.warnings or s.interrupted is not None
            self.progress.log(format_summary(s), always=bool(trouble))
        finally:
            self.progress.release()
        return s

    def _clean_mask_cache(self) -> None:
        if self.options.mask_cache and not storage.is_url(self.out_dir):
            maskcache.remove_temps(str(self.out_dir), self.in_root)

    def _dispatch(self, dispatch: Dispatch) -> None:
        if self.manifest.warning:
            self.summary.warnings.append(self.manifest.warning)
        try:
            dispatch(self, self._tasks())
            self._sweep_stale()
        except KeyboardInterrupt:
            self.stop.signum = self.stop.signum or signal.SIGINT
        finally:
            self.manifest.flush()
            self.report.close()
            self.progress.close()
            for folder in self.written_folders:
                remove_temps(folder, self.in_root)
        self.summary.interrupted = self.stop.signum
        self.summary.ignored = self.stats.ignored
        self.summary.excluded = self.stats.excluded

    def log(self, text: str) -> None:
        self.progress.log(text)

    def should_stop(self) -> bool:
        if self.stop.signum is not None and not self.announced:
            self.announced = True
            self.progress.log(self.stop_message)
        return self.stopped or self.stop.signum is not None

    def stop_signal(self) -> int | None:
        return self.stop.signum

    def _tasks(self) -> Iterator[Task]:
        """Images still to do, streamed; unchanged ones are reported as skipped on the way."""
        folder = None
        for item in plan(self.options, self.in_dir, self.out_dir, self.manifest, self.keys,
                         self.stats):
            if self.should_stop():
                return
            if isinstance(item, Found):  # an entry that could not be listed or stat'ed
                self.finish(None, ImageResult(item.rel, "failed", error=item.error))
                continue
            out_folder = os.path.dirname(next(iter(item.outputs.values())))
            if out_folder != folder and not storage.is_url(out_folder):
                folder = out_folder  # a folder's images come together: its first one
                remove_temps(folder, self.in_root)  # a killed run's (the lock: none runs)
            decision, found = item.decision, item.found
            if decision.state == UNCHANGED:
                self.finish(None, ImageResult(found.rel, "skipped", outputs=item.rel_outputs))
                continue
            reuse = decision.reuse
            cached = {"coverage": reuse.coverage, "flags": reuse.flags} if reuse else None
            task = Task(found.path, found.rel, found.size, found.mtime_ns, item.outputs,
                        item.rel_outputs, item.mask_cache, cached)
            if folder == out_folder and len(self.written_folders) < _MAX_CLEAN_FOLDERS:
                self.written_folders.add(folder)  # (folder stays None for a URL OUT)
            yield task

    def finish(self, task: Task | None, result: ImageResult) -> None:
        """Record one result: manifest row (only once every output is written), report,
        progress, and the fail-fast / test stop conditions."""
        if task is not None and result.status == "ok":
            self._record(task, result)
        elif result.status == "failed":
            size, mtime = (task.size, task.mtime_ns) if task is not None else (0, 0)
            self.manifest.record_failure(result.path, size, mtime, result.error or "")
        self.summary.add(result)
        self.report.write(result)
        self.progress.update(result.status)
        if result.status == "failed" and self.options.fail_fast:
            self.stopped = self.summary.stopped_early = True
        limit = self.options._stop_after
        if limit is not None and self.summary.processed >= limit and self.stop.signum is None:
            self.stop.signum = signal.SIGTERM

    def _record(self, task: Task, result: ImageResult) -> None:
        """The manifest row; with the mask cache, the model key of the mask it now holds (and
        the image's previous cache file goes)."""
        cache = task.mask_cache
        cached = cache is not None and (result.mask == "cache" or os.path.exists(cache))
        if cached:
            old = self.manifest.row(task.rel)
            if old is not None and old.model_key is not None:
                previous = maskcache.cache_path(str(self.out_dir), task.rel, old.size,
                                                old.mtime_ns, old.model_key)
                if previous != cache:
                    maskcache.remove(previous)
        self.manifest.record(task.rel, task.size, task.mtime_ns, self.keys.full, task.rel_outputs,
                             result.sizes or None, self.keys.model if cached else None,
                             result.coverage, result.flags)

    def _sweep_stale(self) -> None:
        if self.options.stale == "keep" or self.stop.signum is not None or self.stopped:
            return
        from bgremove.batch.stale import find_stale

        delete = self.options.stale == "delete"
        for path in find_stale(Path(self.in_dir), Path(self.out_dir), self.suffixes, delete):
            print(path, flush=True)
            self.summary.stale += 1
        self.summary.stale_deleted = delete


__all__ = ["run", "RunOptions", "RunSummary", "ConfigError"]
