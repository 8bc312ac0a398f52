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
def export(
    checkpoint: Path = typer.Argument(..., help="A bgremove .pth checkpoint."),
    output: Path = typer.Argument(..., help="Where to write the .onnx file."),
    int8: bool = typer.Option(False, "--int8", help="Also write a static int8 (QDQ) model."),
    calibration: Path | None = typer.Option(
        None, "--calibration", help="Folder of real images to calibrate --int8 on."
    ),
    calibration_images: int = typer.Option(64, help="How many calibration images to use."),
) -> None:
    """Export a .pth checkpoint to ONNX (checked against torch), optionally also int8."""
    from bgremove.export import export_onnx

    try:
        if int8 and calibration is None:
            raise ConfigError("--int8 needs --calibration DIR (a folder of real images)")
        report = export_onnx(checkpoint, output)
        typer.echo(
            f"wrote {report.path} (max |onnx - torch| = {report.max_abs_diff:.2e} "
            f"on shapes {list(report.shapes_checked)})"
        )
        if int8:
            from bgremove.quantize import quantize_int8

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
    limit: int | None = typer.Option(None, help="Evaluate at most N images per folder."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
) -> None:
    """IoU, F1, MAE, boundary F and more of a model on labelled folders."""
    import json

    from bgremove.api import Remover
    from bgremove.evaluate import evaluate_dirs, format_table

    try:
        remover = Remover(weights, device=device, tta=tta, preset=preset)
        results = evaluate_dirs(remover.mask, dirs, limit=limit, progress=not as_json)
    except BgRemoveError as exc:
        raise _fail(exc) from exc
    typer.echo(json.dumps(results, indent=2) if as_json else format_table(results))
