"""What one `bgremove run` does: the options the CLI collects, as one picklable dataclass.

Kept apart from driver.py so the CLI can build and validate options without importing the
the driver's process-pool machinery, and so worker processes receive plain data.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bgremove.batch.storage import Location, as_location, check_urls, is_url
from bgremove.errors import ConfigError
from bgremove.imaging.outputs import OutputOptions

DEVICES = ("auto", "cpu", "cuda")
BACKENDS = ("local", "ray")
PROGRESS_MODES = ("auto", "bar", "log", "quiet")
STALE_MODES = ("keep", "list", "delete")


def cpu_cores() -> int:
    """Cores this process may use (respects taskset/cgroup affinity, unlike os.cpu_count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass
class RunOptions:
    """Everything `run()` needs.

    output: which files are written per image and how (outputs.OutputOptions).
    workers: CPU worker processes (None: one per core). On CUDA one process drives the GPU and
        `workers` sizes its decode/encode thread pool instead.
    threads: intra-op threads per worker (None: cores // workers, so 1 with the default workers).
    batch_size: images per GPU batch (CUDA only; the CPU path runs one image per task).
    max_pixels: larger images are refused as possible decompression bombs (None: io's default).
    report: JSONL file with one line per image (never inside in_dir).
    progress: "auto" (a bar on a terminal, periodic log lines otherwise), "bar", "log", "quiet".
    backend_factory: a top-level callable returning a Backend, in an importable module (worker
        processes import it by name; they never run the main script); replaces `weights`
        (tests and embedding applications). Its qualified name enters the manifest key.
    backend: where the images are processed: "local" (this machine's processes or GPU) or
        "ray" (a Ray cluster, bgremove/batch/ray_backend.py; needs the `ray` extra).
    address: the Ray cluster to join ("auto", "ray://host:10001"; None: $RAY_ADDRESS or a new
        local Ray instance). Only with backend="ray".
    stale: outputs in OUT_DIR that no input makes any more (stale.py): "keep" them (default),
        "list" them on stdout, or "delete" them, after a run that was not stopped.
    include / exclude: shell patterns choosing which images are taken (select.py).
    mask_cache: keep each image's mask in OUT_DIR/.bgremove-masks so a change of rendering
        options only re-renders (maskcache.py); local OUT_DIRs only.

    `in_dir` may also be one image file: the run is that of a folder holding only it, its
    outputs named after it alone; OUT_DIR may then be anywhere an output does not replace it.
    """

    in_dir: Path | str  # a str only for URLs (storage.py): s3://bucket/photos
    out_dir: Path | str
    output: OutputOptions = field(default_factory=OutputOptions)
    weights: str | None = None
    preset: str | None = None
    tta: bool = False
    clean: bool = False  # mask clean-up (bgremove.inference.cleanup)
    zoom: bool = True  # the weights' second look at small objects (bgremove.inference.zoom)
    mirror: bool = False  # the mirror for busy scenes at the weights' level (inference/mirror.py)
    device: str = "auto"
    workers: int | None = None
    threads: int | None = None
    batch_size: int = 8
    max_pixels: int | None = None
    force: bool = False
    fail_fast: bool = False
    report: Path | None = None
    progress: str = "auto"
    log_interval: float = 30.0
    backend_factory: Callable[[], Any] | None = None
    backend: str = "local"
    address: str | None = None
    stale: str = "keep"
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    mask_cache: bool = True
    # Test hook: behave as if interrupted once this many images were processed.
    _stop_after: int | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.in_dir = as_location(self.in_dir)
        self.out_dir = as_location(self.out_dir)
        if self.report is not None:
            self.report = Path(self.report)
        self.include, self.exclude = tuple(self.include or ()), tuple(self.exclude or ())

    def is_single(self) -> bool:
        """Whether IN is one image file rather than a folder."""
        return not is_url(self.in_dir) and Path(self.in_dir).expanduser().is_file()

    def validate(self) -> None:
        """Raise ConfigError for values no run could use (paths are checked by `check_paths`)."""
        if self.device not in DEVICES:
            raise ConfigError(f"device must be one of {', '.join(DEVICES)}, not {self.device!r}")
        if self.progress not in PROGRESS_MODES:
            raise ConfigError(f"progress must be one of {', '.join(PROGRESS_MODES)}")
        for name in ("workers", "threads", "batch_size", "max_pixels"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{name} must be at least 1, not {value}")
        if self.backend_factory is not None and not callable(self.backend_factory):
            raise ConfigError("backend_factory must be callable")
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, not {self.backend!r}")
        if self.address is not None and self.backend != "ray":
            raise ConfigError("--address is for --backend ray (the Ray cluster to join)")
        if self.stale not in STALE_MODES:
            raise ConfigError(f"stale must be one of {', '.join(STALE_MODES)}, not {self.stale!r}")
        if self.stale != "keep" and (is_url(self.in_dir) or is_url(self.out_dir)):
            raise ConfigError("--stale works on local folders only")
        if self.stale != "keep" and self.is_single():
            raise ConfigError("--stale needs a folder as IN, not one image")
        for name in ("include", "exclude"):
            if not all(isinstance(p, str) and p for p in getattr(self, name)):
                raise ConfigError(f"--{name} takes non-empty patterns")

    def n_workers(self) -> int:
        if self.workers is not None:
            return self.workers
        return 1 if self.is_single() else cpu_cores()  # one image: no pool to start

    def n_threads(self) -> int:
        if self.threads is not None:
            return self.threads
        return max(1, cpu_cores() // self.n_workers())


def _is_within(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def check_paths(options: RunOptions) -> tuple[Location, Location]:
    """Resolve IN and OUT (following symlinks) and refuse layouts that could write into IN.

    OUT inside IN is refused, and so is IN inside OUT: the mirrored tree of IN=/d/a, OUT=/d would
    put the outputs of /d/a/a/x.jpg into /d/a/x.png, inside IN. URLs: storage.check_urls.
    """
    if is_url(options.in_dir) or is_url(options.out_dir):
        return _check_urls(options)
    in_dir = options.in_dir.expanduser().resolve()
    out_dir = options.out_dir.expanduser().resolve()
    if in_dir.is_file():
        return _check_single(options, in_dir, out_dir)
    if not in_dir.is_dir():
        raise ConfigError(f"input folder or image not found: {options.in_dir}")
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"output path exists and is not a folder: {options.out_dir}")
    if _is_within(out_dir, in_dir):
        raise ConfigError(
            f"output folder {out_dir} is the input folder or inside it; bgremove never writes "
            "inside the input folder: choose an output folder outside it"
        )
    if _is_within(in_dir, out_dir):
        raise ConfigError(
            f"input folder {in_dir} is inside the output folder {out_dir}; choose an output "
            "folder that does not contain the input folder"
        )
    if options.report is not None:
        report = options.report.expanduser().resolve()
        if _is_within(report, in_dir):
            raise ConfigError(f"report {report} would be written inside the input folder")
    return in_dir, out_dir


def _check_single(options: RunOptions, image: Path, out_dir: Path) -> tuple[Path, Path]:
    """One image: OUT may be anywhere (its folder too), as long as no output replaces it."""
    from bgremove.batch.discover import single_image
    from bgremove.imaging.outputs import output_names

    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"output path exists and is not a folder: {options.out_dir}")
    suffixes = list(output_names("", options.output).values())
    for name in output_names(single_image(image, None, suffixes).stem, options.output).values():
        if (out_dir / name).resolve() == image:
            raise ConfigError(f"the output {out_dir / name} would replace the input image; "
                              "choose another output folder")
    return image, out_dir


def _check_urls(options: RunOptions) -> tuple[Location, Location]:
    locs = [loc if is_url(loc) else Path(loc).expanduser().resolve()
            for loc in (options.in_dir, options.out_dir)]
    if not is_url(locs[0]) and not Path(locs[0]).is_dir():
        raise ConfigError(f"input folder not found: {options.in_dir}")
    check_urls(locs[0], locs[1])
    if options.report is not None and not is_url(locs[0]):
        if _is_within(options.report.expanduser().resolve(), Path(locs[0])):
            raise ConfigError(f"report {options.report} would be written inside the input folder")
    return locs[0], locs[1]
