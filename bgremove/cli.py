"""The `bgremove` command. Commands are thin: build options, call the library, map errors to exit
codes (0 ok, 1 some images failed, 2 usage or configuration error).

Help is plain text (`-h` or `--help` on every command), choices are listed as choices, and a
bad value is refused with the option's name (exit code 2) before any work starts.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from bgremove.cli_options import (
    EXIT_FAILED,
    Backend,
    CompositeFormat,
    CutoutFormat,
    Device,
    PlainArguments,
    ProgressMode,
    StaleMode,
    check_canvas,
    check_color,
    check_margin,
    check_unit,
    checked,
    fail,
    margin_value,
)
from bgremove.cli_serve import serve
from bgremove.errors import BgRemoveError, ConfigError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Remove backgrounds from folders of product photos.",
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from bgremove import __version__

        typer.echo(f"bgremove {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", "-V", is_eager=True, callback=_version,
                                 help="Print the version and exit."),
) -> None:
    """Remove backgrounds from folders of product photos."""


@app.command(cls=PlainArguments)
def run(
    # str, not Path: a URL (s3://bucket/photos) must keep its "//".
    in_dir: str = typer.Argument(..., metavar="IN", help="Folder or URL of images (searched "
                                 "recursively), one image file, or - for one image on stdin."),
    out_dir: str = typer.Argument(..., metavar="OUT_DIR", help="Where outputs go (the input tree "
                                  "is mirrored), or - to write the one output to stdout."),
    cutout: bool = typer.Option(True, "--cutout/--no-cutout", help="RGBA cutout <stem>.png."),
    fmt: CutoutFormat = typer.Option("png", "--format", help="Cutout format (webp: lossless)."),
    mask: bool = typer.Option(False, "--mask", help="Also write <stem>.mask.png."),
    bg_color: str | None = typer.Option(
        None, "--bg-color", callback=checked(check_color), metavar="COLOR",
        help="Also write a composite on this colour (#FFFFFF, white, r,g,b)."),
    composite_format: CompositeFormat = typer.Option("jpg", help="Composite format."),
    crop: bool = typer.Option(False, "--crop", help="Crop outputs to the object's box."),
    margin: str = typer.Option("0", callback=checked(check_margin), metavar="N|N%",
                               help="Crop margin: pixels (20) or percent of the box (5%)."),
    canvas: str | None = typer.Option(
        None, "--canvas", callback=checked(check_canvas), metavar="SIDE|WxH",
        help="Every output on a canvas of this size (2000 or 1600x1200): the object's box "
        "scaled to --fill and centred; transparent, or --bg-color for the composite."),
    fill: float = typer.Option(0.85, "--fill", metavar="F", callback=checked(check_unit("--fill", True)),
                               help="With --canvas: the share of the canvas the object's box spans."),
    max_upscale: float = typer.Option(
        2.0, "--max-upscale", min=1.0, metavar="X",
        help="With --canvas: enlarge at most this much; a smaller object is flagged upscale_capped."),
    threshold: float | None = typer.Option(
        None, callback=checked(check_unit("--threshold")), metavar="T",
        help="Hard mask: alpha = (alpha >= T)."),
    decontaminate: bool = typer.Option(
        True, "--decontaminate/--no-decontaminate", help="Remove background colour from edges."
    ),
    png_compression: int = typer.Option(1, min=0, max=9, metavar="LEVEL",
                                        help="PNG level: 0-3 fast (ISA-L), 4-9 smaller (zlib)."),
    jpeg_quality: int = typer.Option(95, min=1, max=100, metavar="Q", help="JPEG/WebP composite quality."),
    weights: Path | None = typer.Option(None, "--weights", "-w", metavar="FILE",
                                        help="Default: bundled (int8 on a CPU, fp32 on a GPU)."),
    preset: str | None = typer.Option(None, metavar="NAME",
                                      help="Preprocessing preset for foreign ONNX files."),
    tta: bool = typer.Option(False, "--tta", help="Flip and multi-scale test-time augmentation."),
    clean: bool = typer.Option(False, "--clean", help="Mask clean-up: fill unsure holes inside "
                               "the object, drop faint regions apart from it."),
    zoom: bool = typer.Option(True, "--zoom/--no-zoom", help="Predict a small object again on a "
                              "crop around it (one more model call for those photos)."),
    mirror: bool = typer.Option(False, "--mirror", help="Average a busy scene's mask with its "
                                "mirror image's (one more model call for those photos)."),
    device: Device = typer.Option("auto", help="Where the model runs."),
    workers: int | None = typer.Option(None, min=1, metavar="N",
                                       help="Worker processes (default: CPU cores)."),
    threads: int | None = typer.Option(None, min=1, metavar="N",
                                       help="Threads per worker (default: cores/workers)."),
    batch_size: int = typer.Option(8, min=1, metavar="N", help="Images per GPU batch (CUDA only)."),
    max_pixels: int | None = typer.Option(None, min=1, metavar="N",
                                          help="Refuse larger images (bomb guard)."),
    include: list[str] | None = typer.Option(
        None, "--include", metavar="GLOB",
        help="Only images matching (repeatable; a name pattern, or a path one with a /)."),
    exclude: list[str] | None = typer.Option(
        None, "--exclude", metavar="GLOB", help="Leave out images matching (repeatable)."),
    force: bool = typer.Option(False, "--force", help="Reprocess unchanged images too."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="List what would be done and why (new, changed, unchanged, "
        "failed before); write nothing."),
    mask_cache: bool = typer.Option(
        True, "--mask-cache/--no-mask-cache",
        help="Keep masks in OUT_DIR/.bgremove-masks: re-rendering skips the network."),
    fail_fast: bool = typer.Option(False, "--fail-fast", help="Stop at the first failure."),
    report: Path | None = typer.Option(None, metavar="FILE",
                                       help="JSONL report, one line per image."),
    progress: ProgressMode = typer.Option("auto", help="A bar on a terminal, else log lines."),
    log_interval: float = typer.Option(30.0, metavar="SECONDS", help="Seconds between log lines (log mode)."),
    backend: Backend = typer.Option(
        "local", help="local (this machine) or ray (a Ray cluster; needs the ray extra)."
    ),
    address: str | None = typer.Option(
        None, metavar="ADDR",
        help="Ray cluster to join (auto, ray://head:10001); default $RAY_ADDRESS or local."
    ),
    stale: StaleMode = typer.Option(
        "keep", help="Outputs no input makes any more: keep, list (on stdout) or delete them."
    ),
) -> None:
    """Remove the background of every image under IN; write the outputs to OUT_DIR.

    IN may be one image file (outputs named after it), or - with - as OUT_DIR to pipe one
    image: cat x.jpg | bgremove run - - > x.png. Re-runs process only new or changed images;
    when only rendering options changed, cached masks are re-rendered without the network.
    Exit codes: 0 all ok, 1 some images failed, 2 usage or configuration error, 130/143
    interrupted (the next run resumes).
    """
    from bgremove.batch.options import RunOptions
    from bgremove.imaging.outputs import OutputOptions

    try:
        output = OutputOptions(
            cutout=cutout, mask=mask, bg_color=bg_color, composite_format=composite_format.value,
            cutout_format=fmt.value, crop=crop, margin=margin_value(margin),
            png_compression=png_compression, jpeg_quality=jpeg_quality,
            decontaminate=decontaminate, threshold=threshold, canvas=canvas, fill=fill,
            max_upscale=max_upscale,
        )
        options = RunOptions(
            in_dir, out_dir, output=output, weights=str(weights) if weights else None,
            preset=preset, tta=tta, clean=clean, zoom=zoom, mirror=mirror, device=device.value,
            workers=workers, threads=threads, batch_size=batch_size, max_pixels=max_pixels,
            force=force, fail_fast=fail_fast, report=report, progress=progress.value,
            log_interval=log_interval,
            backend=backend.value, address=address, stale=stale.value, include=include or (),
            exclude=exclude or (), mask_cache=mask_cache,
        )
        code = _run(options, dry_run)
    except BgRemoveError as exc:
        raise fail(exc) from exc
    raise typer.Exit(code)


def _run(options: Any, dry_run: bool) -> int:
    """The library call `run` makes: a dry run, a pipe or a run; its exit code."""
    from bgremove.batch.pipe import STDIO, is_pipe

    if str(options.in_dir) == STDIO and not is_pipe(options):
        raise ConfigError("- as IN (an image on stdin) needs - as OUT_DIR (its output on stdout)")
    if dry_run:
        if is_pipe(options):
            raise ConfigError("--dry-run lists what a folder run would do: not with - as OUT_DIR")
        from bgremove.batch.dryrun import dry_run as plan_run

        typer.echo(plan_run(options).line(), err=True)
        return 0
    if is_pipe(options):
        from bgremove.batch.pipe import run_pipe

        result = run_pipe(options, sys.stdin.buffer, sys.stdout.buffer)
        if result.status != "ok":
            typer.echo(f"bgremove: failed: {result.path}: {result.error}", err=True)
            return EXIT_FAILED
        if result.flags:
            typer.echo(f"bgremove: {result.path}: flags {', '.join(result.flags)}", err=True)
        return 0
    from bgremove.batch.driver import run as run_folder

    return run_folder(options).exit_code


app.command(cls=PlainArguments)(serve)


@app.command(cls=PlainArguments)
def export(
    checkpoint: Path = typer.Argument(..., metavar="IN.pth", help="A bgremove .pth checkpoint."),
    output: Path = typer.Argument(..., metavar="OUT.onnx", help="Where to write the .onnx file."),
    int8: bool = typer.Option(
        False, "--int8",
        help="Also write OUT.int8.onnx, static int8 (QDQ) that gives the same masks on every CPU: "
        "7-bit weights where CPUs without VNNI would saturate, 8-bit depthwise, biases corrected "
        "for the weights' rounding, a few blocks in fp32 (bgremove/modeltools/quantize.py).",
    ),
    calibration: Path | None = typer.Option(
        None, "--calibration", metavar="DIR", help="Folder of real images to calibrate --int8 on."
    ),
    calibration_images: int = typer.Option(64, min=1, metavar="N",
                                           help="How many calibration images to use."),
) -> None:
    """Export a .pth checkpoint to ONNX (checked against torch), optionally also int8.

    The shipped int8 file is made with: bgremove export weights/bgremove-lite0.pth
    weights/bgremove-lite0.onnx --int8 --calibration ../shared/data/train/ccp/images
    """
    from bgremove.modeltools.export import export_onnx

    try:
        if int8 and calibration is None:
            raise ConfigError("--int8 needs --calibration DIR (a folder of real images)")
        report = export_onnx(checkpoint, output)
        typer.echo(
            f"wrote {report.path} (max |onnx - torch| = {report.max_abs_diff:.2e} "
            f"on shapes {list(report.shapes_checked)})"
        )
        if int8:
            from bgremove.modeltools.quantize import quantize_int8

            q_path = output.with_name(output.stem + ".int8.onnx")
            q = quantize_int8(output, q_path, calibration, calibration_images)
            typer.echo(
                f"wrote {q.path}: agreement with fp32 on {q.images} images: "
                f"mask IoU {q.mean_iou:.4f}, mean |prob diff| {q.mean_abs_diff:.4f}"
            )
    except BgRemoveError as exc:
        raise fail(exc) from exc


@app.command("eval", cls=PlainArguments)
def evaluate(
    dirs: list[Path] = typer.Argument(..., metavar="DIR...", help="Folders with images/ and masks/."),
    weights: Path | None = typer.Option(None, "--weights", "-w", metavar="FILE",
                                        help="Default: bundled (int8 on a CPU, fp32 on a GPU)."),
    preset: str | None = typer.Option(None, metavar="NAME",
                                      help="Preprocessing preset for foreign ONNX files."),
    tta: bool = typer.Option(False, "--tta", help="Flip and multi-scale test-time augmentation."),
    clean: bool = typer.Option(False, "--clean", help="Mask clean-up (bgremove.inference.cleanup)."),
    zoom: bool = typer.Option(True, "--zoom/--no-zoom", help="Second look at small objects "
                              "(bgremove.inference.zoom)."),
    mirror: bool = typer.Option(False, "--mirror", help="Mirror's second opinion on busy scenes "
                                "(bgremove.inference.mirror)."),
    limit: int | None = typer.Option(None, min=1, metavar="N",
                                     help="Evaluate at most N images per folder."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    by_clip: bool = typer.Option(False, "--by-clip",
                                 help="Also score each clip (DAVIS-style clip_frame names)."),
    device: Device = typer.Option("auto", help="Where the model runs."),
    threads: int | None = typer.Option(None, min=1, metavar="N",
                                       help="Inference threads (default: all cores)."),
) -> None:
    """IoU, F1, MAE, boundary F and more of a model on labelled folders."""
    import json

    from bgremove.inference.remover import Remover
    from bgremove.modeltools.evaluate import evaluate_dirs, format_clips, format_table

    try:
        from bgremove.inference.cleanup import Cleanup

        remover = Remover(weights, device=device.value, threads=threads, tta=tta, preset=preset,
                          cleanup=Cleanup() if clean else None, zoom=None if zoom else 0.0,
                          mirror_busy=None if mirror else 0.0)  # None: the weights' level
        results = evaluate_dirs(remover.mask, dirs, limit=limit, progress=not as_json,
                                by_clip=by_clip)
    except BgRemoveError as exc:
        raise fail(exc) from exc
    text = "\n\n".join(filter(None, [format_table(results), format_clips(results)]))
    typer.echo(json.dumps(results, indent=2) if as_json else text)


@app.command(cls=PlainArguments)
def review(
    out_dir: Path = typer.Argument(..., metavar="OUT_DIR", help="An output folder of bgremove run."),
    output: Path | None = typer.Option(
        None, "--output", "-o", metavar="FILE",
        help="Where to write the page (default: OUT_DIR/review.html)."),
    report: Path | None = typer.Option(
        None, "--report", metavar="FILE", help="Review only the images of this run's JSONL report."),
    show_all: bool = typer.Option(
        False, "--all", help="Also include the thumbnails of the images without flags."),
) -> None:
    """Write one self-contained HTML page to review a run: failed images with their reasons,
    then flagged ones (worst first), then the rest, each as original | cutout | mask."""
    from bgremove.review.page import write_review

    try:
        page = write_review(out_dir, output, report, show_all)
    except BgRemoveError as exc:
        raise fail(exc) from exc
    typer.echo(f"wrote {page.path}: {page.failed} failed, {page.flagged} flagged, "
               f"{page.rest} without flags")
