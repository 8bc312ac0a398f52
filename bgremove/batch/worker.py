"""What runs inside a worker for one image: read -> mask -> render -> write atomically.

Each worker process keeps one Remover (one model session) for its whole life, cached by the
options that built it; only the small Task and ImageResult records cross process boundaries.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from bgremove.batch.report import DAMAGED, ImageResult, mask_quality
from bgremove.errors import BgRemoveError, ConfigError, ImageError
from bgremove.imaging.compose import OutputOptions, render_outputs


@dataclass(frozen=True)
class Task:
    path: str  # absolute input path
    rel: str  # relative to IN_DIR, POSIX
    size: int
    mtime_ns: int
    outputs: dict[str, str]  # kind -> absolute output path
    rel_outputs: list[str]  # the same, relative to OUT_DIR (what the manifest stores)


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

    @classmethod
    def from_options(cls, options: Any, device: str = "cpu") -> WorkerConfig:
        from bgremove.batch.storage import is_url

        in_root = None if is_url(options.in_dir) else str(options.in_dir.expanduser().resolve())
        return cls(options.output, options.weights, options.preset, options.tta, device,
                   options.n_threads(), options.max_pixels, options.backend_factory,
                   options.batch_size if device == "cuda" else None, in_root)

    def model_key(self) -> tuple:
        return (self.weights, self.preset, self.tta, self.device, self.threads,
                self.backend_factory, self.batch_size)


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
    if config.backend_factory is not None:
        return Remover(backend=config.backend_factory(), tta=config.tta, **kw)
    return Remover(config.weights, device=config.device, threads=config.threads,
                   tta=config.tta, preset=config.preset, **kw)


def worker_init(parent_pid: int | None = None) -> None:
    """Workers ignore Ctrl-C and SIGTERM: the terminal and systemd signal the whole process
    group, and the parent decides whether in-flight images finish or the workers are killed
    (stopping.py). With `parent_pid`, the worker dies with its parent (lifeline.py)."""
    from bgremove.batch.stopping import ignore_stop_signals

    ignore_stop_signals()
    if parent_pid is not None:
        from bgremove.batch.lifeline import die_with_parent

        die_with_parent(parent_pid)


def _read(config: WorkerConfig, path: str) -> Any:
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
        image = _read(config, task.path)
        alpha = get_remover(config).mask(image)  # the LoadedImage: keeps input transparency
        return write_outputs(config, task, image, alpha, start)
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


def write_outputs(config: WorkerConfig, task: Task, image: Any, alpha: np.ndarray,
                  start: float) -> ImageResult:
    """Render every requested output and write each atomically; then report success."""
    from bgremove.batch.storage import write_output  # local: makedirs + io.write_atomic

    coverage, flags = mask_quality(alpha)
    data = render_outputs(image.rgb, alpha, config.output, icc_profile=image.icc_profile)
    for kind, path in task.outputs.items():
        write_output(path, data[kind], config.in_root)
    if getattr(image, "damaged", False):
        flags.append(DAMAGED)
    return ImageResult(task.rel, "ok", ms=_ms(start), coverage=coverage, flags=flags,
                       outputs=task.rel_outputs, sizes=[len(data[k]) for k in task.outputs],
                       warnings=list(getattr(image, "warnings", [])))


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000.0, 1)
