"""One image through a pipe: `cat shoe.jpg | bgremove run - - > shoe.png`.

IN is `-` (standard input) or one image file, OUT is `-` (standard output): the image is read,
masked and rendered in this process, by the same functions a run's workers use (worker.py), so
the bytes are the ones a folder run writes for that image; exactly one output is written, the
one the options ask for (the cutout by default; `--no-cutout --mask` for the mask,
`--no-cutout --bg-color white` for the composite). Nothing else is written anywhere: no
manifest, no mask cache, no report. A bad image writes nothing to standard output and is a
failed result (exit code 1), with its reason.
"""

from __future__ import annotations

import dataclasses
import time
from typing import BinaryIO

from bgremove.batch.flags import DAMAGED, mask_quality
from bgremove.batch.options import RunOptions, cpu_cores
from bgremove.batch.report import ImageResult
from bgremove.batch.worker import WorkerConfig, failed_result, get_remover
from bgremove.errors import ConfigError
from bgremove.imaging.outputs import output_names

STDIO = "-"


def is_pipe(options: RunOptions) -> bool:
    return str(options.out_dir) == STDIO


def check(options: RunOptions) -> str:
    """The one output kind the pipe writes; ConfigError for what a pipe cannot do."""
    options.validate()
    kinds = list(output_names("", options.output))
    if len(kinds) != 1:
        raise ConfigError(f"- as OUT writes one output, but {' + '.join(kinds)} were asked for: "
                          "keep one (--no-cutout with --mask or --bg-color)")
    if options.backend != "local":
        raise ConfigError("- as OUT runs here: --backend ray is for folders")
    if options.report is not None or options.stale != "keep" or options.include or options.exclude:
        raise ConfigError("--report, --stale, --include and --exclude are for folders, not "
                          "for - as OUT")
    if str(options.in_dir) != STDIO and not options.is_single():
        raise ConfigError(f"- as OUT takes one image: - (standard input) or a file as IN, "
                          f"not {options.in_dir}")
    return kinds[0]


def run_pipe(options: RunOptions, stdin: BinaryIO, stdout: BinaryIO) -> ImageResult:
    """Read IN (`stdin` when it is `-`), write the one output to `stdout`. ConfigError for bad
    options or an unusable model; a bad image gives a failed result and writes nothing."""
    kind = check(options)
    from bgremove.batch.local import use_gpu
    from bgremove.imaging.compose import final_alpha, render
    from bgremove.imaging.read import DEFAULT_MAX_PIXELS, read_image

    config = WorkerConfig.from_options(options, "cuda" if use_gpu(options) else "cpu")
    if options.threads is None:  # one image, no other worker: every core for it
        config = dataclasses.replace(config, threads=cpu_cores())
    name = "<stdin>" if str(options.in_dir) == STDIO else str(options.in_dir)
    start = time.perf_counter()
    try:
        source = stdin.read() if name == "<stdin>" else name
        image = read_image(source, max_pixels=options.max_pixels or DEFAULT_MAX_PIXELS)
        remover = get_remover(config)
        alpha = remover.mask(image)
        coverage, flags = mask_quality(alpha, remover.preprocessing.sharpen)
        a8 = final_alpha(alpha, config.output.threshold)
        rendered = render(image.rgb, a8, config.output, icc_profile=image.icc_profile)
    except ConfigError as exc:
        raise ConfigError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - reported like a run's failed image
        return _failed(name, exc, start)
    stdout.write(rendered.data[kind])
    stdout.flush()
    flags += rendered.flags + ([DAMAGED] if image.damaged else [])
    return ImageResult(name, "ok", ms=round((time.perf_counter() - start) * 1000, 1),
                       coverage=coverage, flags=flags, sizes=[len(rendered.data[kind])],
                       warnings=image.warnings, mask="model")


def _failed(name: str, exc: BaseException, start: float) -> ImageResult:
    from bgremove.batch.worker import Task

    return failed_result(Task(name, name, 0, 0, {}, []), exc, start)
