"""What runs inside a worker for one image: read -> mask -> render -> write atomically.

Each worker process keeps one Remover (one model session) for its whole life, cached by the
options that built it, and loads it only for the first image that needs the network: an image
whose mask the driver found in the mask cache (maskcache.py) is rendered from it. Only the small
Task and ImageResult records cross process boundaries.

The run's parent imports this module too, for Task, WorkerConfig and the functions it hands
the pool, so the pixel code (numpy, OpenCV, PIL) is imported where it runs, in the worker's
functions: the parent starts its pool without loading it (~0.1 s sooner; tests/test_cli.py checks
the parent's modules when its pool starts).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bgremove.batch import maskcache
from bgremove.batch.flags import DAMAGED, MASK_FLAGS, mask_quality
from bgremove.batch.report import ImageResult
from bgremove.errors import BgRemoveError, ConfigError, ImageError
from bgremove.imaging.outputs import OutputOptions

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Task:
    path: str  # absolute input path
    rel: str  # relative to IN_DIR, POSIX
    size: int
    mtime_ns: int
    outputs: dict[str, str]  # kind -> absolute output path
    rel_outputs: list[str]  # the same, relative to OUT_DIR (what the manifest stores)
    mask_cache: str | None = None  # where this image's mask is cached (None: no cache)
    cached: dict | None = None  # {"coverage", "flags"} when the cached mask is to be used


@dataclass(frozen=True)
class WorkerConfig:
    """The part of RunOptions a worker needs; picklable (backend_factory must be top level)."""

    output: OutputOptions
    weights: str | None = None
    preset: str | None = None
    tta: bool = False
    device: str = "cpu"
    threads: int | None = 1
    max_pixels: int | None = None
    backend_factory: Callable[[], Any] | None = None
    batch_size: int | None = None  # model batch on the GPU; None: the Remover's default
    in_root: str | None = None  # the resolved local IN_DIR: outputs never go there (safewrite)
    clean: bool = False  # mask clean-up (bgremove.inference.cleanup)
    zoom: bool = True  # False: never the second look at small objects, whatever the weights say
    mirror: bool = False  # True: the mirror for busy scenes, at the level the weights store

    @classmethod
    def from_options(cls, options: Any, device: str = "cpu") -> WorkerConfig:
        from bgremove.batch.storage import is_url

        in_root = None if is_url(options.in_dir) else str(options.in_dir.expanduser().resolve())
        return cls(options.output, options.weights, options.preset, options.tta, device,
                   options.n_threads(), options.max_pixels, options.backend_factory,
                   options.batch_size if device == "cuda" else None, in_root,
                   options.clean, options.zoom, options.mirror)

    def model_key(self) -> tuple:
        return (self.weights, self.preset, self.tta, self.device, self.threads,
                self.backend_factory, self.batch_size, self.clean, self.zoom, self.mirror)


_REMOVERS: dict[tuple, Any] = {}


def get_remover(config: WorkerConfig) -> Any:
    """This process's Remover for `config`, loaded on first use and kept (one model per process).
    """
    key = config.model_key()
    remover = _REMOVERS.get(key)
    if remover is None:
        _REMOVERS.clear()  # a different model replaces the old one instead of adding to memory
        remover = _make_remover(config)
        _REMOVERS[key] = remover
    return remover


def _make_remover(config: WorkerConfig) -> Any:
    import cv2

    from bgremove.inference.remover import Remover

    if config.threads:
        cv2.setNumThreads(config.threads)  # N workers x all-core OpenCV would oversubscribe
    kw = {"batch_size": config.batch_size} if config.batch_size else {}
    if config.clean:
        from bgremove.inference.cleanup import Cleanup

        kw["cleanup"] = Cleanup()
    if not config.zoom:
        kw["zoom"] = 0.0
    if config.mirror:
        kw["mirror_busy"] = None  # the weights' own level
    if config.backend_factory is not None:
        return Remover(backend=config.backend_factory(), tta=config.tta, **kw)
    return Remover(config.weights, device=config.device, threads=config.threads,
                   tta=config.tta, preset=config.preset, **kw)


def worker_init(parent_pid: int | None = None) -> None:
    """Workers ignore Ctrl-C and SIGTERM: the terminal and systemd signal the whole process
    group, and the parent decides whether in-flight images finish or the workers are killed
    (stopping.py). With `parent_pid`, the worker dies with its parent (lifeline.py). Its heap
    keeps freed memory for the next image (heap.py)."""
    from bgremove.batch.heap import keep_freed_memory
    from bgremove.batch.stopping import ignore_stop_signals

    ignore_stop_signals()
    keep_freed_memory()
    if parent_pid is not None:
        from bgremove.batch.lifeline import die_with_parent

        die_with_parent(parent_pid)


def read_task_image(config: WorkerConfig, path: str) -> Any:
    from bgremove.batch.storage import open_source  # a URL opened as a file; a local path as it is
    from bgremove.imaging.read import read_image

    with open_source(path) as source:
        if config.max_pixels is not None:
            return read_image(source, max_pixels=config.max_pixels)
        return read_image(source)


def process_one(config: WorkerConfig, task: Task) -> ImageResult:
    """One image end to end. Bad images give a failed result; ConfigError (unusable weights,
    missing extra) is re-raised as a plain ConfigError so it pickles back to the parent."""
    start = time.perf_counter()
    try:
        image = read_task_image(config, task.path)
        if cached_result := from_cache(config, task, image, start):
            return cached_result
        remover = get_remover(config)
        alpha = remover.mask(image)  # the LoadedImage: keeps input transparency
        return write_outputs(config, task, image, alpha, start, remover.preprocessing.sharpen)
    except ConfigError as exc:
        raise ConfigError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - one bad image must never stop a catalog run
        return failed_result(task, exc, start)


def failed_result(task: Task, exc: BaseException, start: float) -> ImageResult:
    if isinstance(exc, ImageError):
        reason = exc.reason
    elif isinstance(exc, BgRemoveError):
        reason = str(exc)
    elif isinstance(exc, MemoryError):
        reason = "out of memory"
    else:
        reason = f"{type(exc).__name__}: {exc}"
    # One line: the report is JSONL and the summary lists reasons one per line.
    return ImageResult(task.rel, "failed", error=" ".join(reason.split()), ms=_ms(start))


def from_cache(config: WorkerConfig, task: Task, image: Any, start: float) -> ImageResult | None:
    """The image rendered from its cached mask, or None when it has none that fits (then the
    network runs, and rewrites the cache)."""
    if task.cached is None or task.mask_cache is None:
        return None
    a8 = maskcache.load(task.mask_cache, image.rgb.shape[:2])
    if a8 is None:
        return None
    flags = [f for f in task.cached["flags"] if f in MASK_FLAGS]
    return write_rendered(config, task, image, a8, (task.cached["coverage"], flags), "cache",
                          start)


def write_outputs(config: WorkerConfig, task: Task, image: Any, alpha: np.ndarray,
                  start: float, sharpen: float = 1.0) -> ImageResult:
    """Cache the mask (when the task has a cache file), render every requested output and write
    each atomically; then report success. `alpha`: the Remover's HW float mask, `sharpen` its
    weights' edge sharpening (for the review flags)."""
    from bgremove.imaging.compose import final_alpha

    quality = mask_quality(alpha, sharpen)
    a8 = final_alpha(alpha, config.output.threshold)  # what rendering uses: cached as it is
    if task.mask_cache is not None:
        maskcache.store(task.mask_cache, a8, config.in_root)
    return write_rendered(config, task, image, a8, quality, "model", start)


def write_rendered(config: WorkerConfig, task: Task, image: Any, a8: np.ndarray,
                   quality: tuple[float, list[str]], source: str, start: float) -> ImageResult:
    from bgremove.batch.storage import write_output  # local: makedirs + io.write_atomic
    from bgremove.imaging.compose import render

    coverage, flags = quality[0], list(quality[1])
    rendered = render(image.rgb, a8, config.output, icc_profile=image.icc_profile)
    for kind, path in task.outputs.items():
        write_output(path, rendered.data[kind], config.in_root)
    flags += rendered.flags
    if getattr(image, "damaged", False):
        flags.append(DAMAGED)
    return ImageResult(task.rel, "ok", ms=_ms(start), coverage=coverage, flags=flags,
                       outputs=task.rel_outputs, sizes=[len(rendered.data[k]) for k in task.outputs],
                       warnings=list(getattr(image, "warnings", [])), mask=source)


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000.0, 1)
