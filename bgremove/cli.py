"""The `bgremove` command. Commands are thin: build options, call the library, map errors to exit
codes (0 ok, 1 some images failed, 2 usage or configuration error)."""

from __future__ import annotations

from pathlib import Path

import typer

from bgremove.errors import BgRemoveError, ConfigError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Remove backgrounds from folders of product photos.",
    pretty_exceptions_enable=False,
)

EXIT_FAILED = 1
EXIT_CONFIG = 2


def _fail(exc: BgRemoveError) -> typer.Exit:
    typer.secho(f"bgremove: error: {exc}", err=True, fg=typer.colors.RED)
    return typer.Exit(EXIT_CONFIG if isinstance(exc, ConfigError) else EXIT_FAILED)


@app.command()
def run(
    # str, not Path: a URL (s3://bucket/photos) must keep its "//".
    in_dir: str = typer.Argument(..., help="Folder or URL of images (searched recursively)."),
    out_dir: str = typer.Argument(..., help="Where outputs go (the input tree is mirrored)."),
    cutout: bool = typer.Option(True, "--cutout/--no-cutout", help="RGBA cutout <stem>.png."),
    fmt: str = typer.Option("png", "--format", help="Cutout format: png or webp (lossless)."),
    mask: bool = typer.Option(False, "--mask", help="Also write <stem>.mask.png."),
    bg_color: str | None = typer.Option(
        None, "--bg-color", help="Also write a composite on this colour (#FFFFFF, white, r,g,b)."
    ),
    composite_format: str = typer.Option("jpg", help="Composite format: jpg, webp or png."),
    crop: bool = typer.Option(False, "--crop", help="Crop outputs to the object's box."),
    margin: str = typer.Option("0", help="Crop margin: pixels (20) or percent of the box (5%)."),
    threshold: float | None = typer.Option(None, help="Hard mask: alpha = (alpha >= T)."),
    decontaminate: bool = typer.Option(
        True, "--decontaminate/--no-decontaminate", help="Remove background colour from edges."
    ),
    png_compression: int = typer.Option(1, help="PNG level 0-9: 0-3 fast (ISA-L), 4-9 smaller (zlib)."),
    jpeg_quality: int = typer.Option(95, help="JPEG/WebP composite quality."),
    weights: Path | None = typer.Option(None, "--weights", "-w", help="Default: bundled."),
    preset: str | None = typer.Option(None, help="Preprocessing preset for foreign ONNX files."),
    tta: bool = typer.Option(False, "--tta", help="Flip and multi-scale test-time augmentation."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    workers: int | None = typer.Option(None, help="Worker processes (default: CPU cores)."),
    threads: int | None = typer.Option(None, help="Threads per worker (default: cores/workers)."),
    batch_size: int = typer.Option(8, help="Images per GPU batch (CUDA only)."),
    max_pixels: int | None = typer.Option(None, help="Refuse larger images (bomb guard)."),
    force: bool = typer.Option(False, "--force", help="Reprocess unchanged images too."),
    fail_fast: bool = typer.Option(False, "--fail-fast", help="Stop at the first failure."),
    report: Path | None = typer.Option(None, help="JSONL report, one line per image."),
    progress: str = typer.Option("auto", help="auto, bar, log or quiet."),
    log_interval: float = typer.Option(30.0, help="Seconds between log lines (log mode)."),
    backend: str = typer.Option(
        "local", help="local (this machine) or ray (a Ray cluster; needs the ray extra)."
    ),
    address: str | None = typer.Option(
        None, help="Ray cluster to join (auto, ray://head:10001); default $RAY_ADDRESS or local."
    ),
    stale: str = typer.Option(
        "keep", help="Outputs no input makes any more: keep, list (on stdout) or delete them."
    ),
) -> None:
    """Remove the background of every image under IN_DIR; write the outputs to OUT_DIR.

    Re-runs process only new or changed images. Exit codes: 0 all ok, 1 some images failed,
    2 usage or configuration error, 130/143 interrupted (the next run resumes).
    """
    from bgremove.batch.driver import run as run_folder
    from bgremove.batch.options import RunOptions
    from bgremove.imaging.compose import OutputOptions

    try:
        output = OutputOptions(
            cutout=cutout, mask=mask, bg_color=bg_color, composite_format=composite_format,
            cutout_format=fmt, crop=crop, margin=_margin(margin), png_compression=png_compression,
            jpeg_quality=jpeg_quality, decontaminate=decontaminate, threshold=threshold,
        )
        options = RunOptions(
            in_dir, out_dir, output=output, weights=str(weights) if weights else None,
            preset=preset, tta=tta, device=device, workers=workers, threads=threads,
            batch_size=batch_size, max_pixels=max_pixels, force=force, fail_fast=fail_fast,
            report=report, progress=progress, log_interval=log_interval, backend=backend,
            address=address, stale=stale,
        )
        summary = run_folder(options)
    except BgRemoveError as exc:
        raise _fail(exc) from exc
    raise typer.Exit(summary.exit_code)


def _margin(text: str) -> int | str:
    # Pixels as an int; anything else ("5%", or a typo) goes to OutputOptions, which validates it.
    return int(text) if text.strip().isdigit() else text


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, help="Port to listen on."),
    token: str | None = typer.Option(
        None, envvar="BGREMOVE_TOKEN", show_envvar=True,
        help="Require 'Authorization: Bearer TOKEN' on /remove (the variable keeps it out of ps).",
    ),
    weights: Path | None = typer.Option(None, "--weights", "-w", help="Default: bundled."),
    preset: str | None = typer.Option(None, help="Preprocessing preset for foreign ONNX files."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    workers: int = typer.Option(1, help="Processes, each with its own model."),
    threads: int | None = typer.Option(None, help="Inference threads per process (default: cores/workers)."),
    io_threads: int | None = typer.Option(None, help="Decode/encode threads per process (default: cores)."),
    max_batch: int = typer.Option(4, help="Images per model call (micro-batching)."),
    batch_wait_ms: float = typer.Option(2.0, help="How long the first image waits for company."),
    queue: int = typer.Option(32, help="Requests a process holds at once; one more gets 503."),
    max_upload_mb: float = typer.Option(32.0, help="Larger uploads get 413."),
    max_pixels: int = typer.Option(64_000_000, help="Larger images get 413 (bomb guard, as in run)."),
    timeout: float = typer.Option(60.0, help="Seconds per request (504 past it; also the SIGTERM grace)."),
    log_level: str = typer.Option("info", help="critical, error, warning, info or debug."),
    access_log: bool = typer.Option(True, "--access-log/--no-access-log", help="One line per request."),
) -> None:
    """Serve the model over HTTP: POST /remove with an image answers its cutout, mask or composite.

    GET /health (alive), GET /ready (model loaded), GET /docs (OpenAPI). Needs the serve extra:
    pip install "bgremove[serve]". Stops on SIGTERM or Ctrl-C after the requests in flight.
    Exit codes: 0 stopped, 2 configuration error (or the port is taken), 3 the model did not load.
    """
    from bgremove.server.options import ServeOptions
    from bgremove.server.runner import serve as run_server

    try:
        options = ServeOptions(
            host=host, port=port, token=token, weights=str(weights) if weights else None,
            preset=preset, device=device, workers=workers, threads=threads, io_threads=io_threads,
            max_batch=max_batch, batch_wait_ms=batch_wait_ms, queue=queue,
            max_upload_bytes=round(max_upload_mb * 1024 * 1024), max_pixels=max_pixels,
            timeout=timeout, log_level=log_level, access_log=access_log,
        )
        code = run_server(options)
    except BgRemoveError as exc:
        raise _fail(exc) from exc
    raise typer.Exit(code)


@app.command()
def export(
    checkpoint: Path = typer.Argument(..., help="A bgremove .pth checkpoint."),
    output: Path = typer.Argument(..., help="Where to write the .onnx file."),
    int8: bool = typer.Option(
        False, "--int8",
        help="Also write OUT.int8.onnx, static int8 (QDQ) that gives the same masks on every CPU: "
        "7-bit weights where CPUs without VNNI would saturate, 8-bit depthwise, a few blocks in "
        "fp32 (bgremove/modeltools/quantize.py).",
    ),
    calibration: Path | None = typer.Option(
        None, "--calibration", help="Folder of real images to calibrate --int8 on."
    ),
    calibration_images: int = typer.Option(64, help="How many calibration images to use."),
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
        raise _fail(exc) from exc


@app.command("eval")
def evaluate(
    dirs: list[Path] = typer.Argument(..., help="Folders with images/ and masks/."),
    weights: Path | None = typer.Option(None, "--weights", "-w", help="Default: bundled."),
    preset: str | None = typer.Option(None, help="Preprocessing preset for foreign ONNX files."),
    tta: bool = typer.Option(False, "--tta", help="Flip and multi-scale test-time augmentation."),
    clean: bool = typer.Option(False, "--clean", help="Mask clean-up (bgremove.inference.cleanup)."),
    limit: int | None = typer.Option(None, help="Evaluate at most N images per folder."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    threads: int | None = typer.Option(None, help="Inference threads (default: all cores)."),
) -> None:
    """IoU, F1, MAE, boundary F and more of a model on labelled folders."""
    import json

    from bgremove.inference.remover import Remover
    from bgremove.modeltools.evaluate import evaluate_dirs, format_table

    try:
        from bgremove.inference.cleanup import Cleanup

        remover = Remover(weights, device=device, threads=threads, tta=tta, preset=preset,
                          cleanup=Cleanup() if clean else None)
        results = evaluate_dirs(remover.mask, dirs, limit=limit, progress=not as_json)
    except BgRemoveError as exc:
        raise _fail(exc) from exc
    typer.echo(json.dumps(results, indent=2) if as_json else format_table(results))
