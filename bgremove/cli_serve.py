"""`bgremove serve`: the command line of the HTTP server (bgremove/server/, the serve extra).

Kept apart from cli.py so that file stays a list of the batch commands; the server's modules
(FastAPI, uvicorn) are imported only when the command runs.
"""

from __future__ import annotations

from pathlib import Path

import typer

from bgremove.cli_options import Device, LogLevel, fail
from bgremove.errors import BgRemoveError


def serve(
    host: str = typer.Option("127.0.0.1", metavar="ADDR",
                             help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, metavar="PORT", help="Port to listen on."),
    token: str | None = typer.Option(
        None, metavar="TOKEN", envvar="BGREMOVE_TOKEN", show_envvar=True,
        help="Require 'Authorization: Bearer TOKEN' on /remove (the variable keeps it out of ps).",
    ),
    weights: Path | None = typer.Option(None, "--weights", "-w", metavar="FILE",
                                        help="Default: bundled (fp32: requests share batches)."),
    preset: str | None = typer.Option(None, metavar="NAME",
                                      help="Preprocessing preset for foreign ONNX files."),
    device: Device = typer.Option("auto", help="Where the model runs."),
    workers: int = typer.Option(1, metavar="N", help="Processes, each with its own model."),
    threads: int | None = typer.Option(None, metavar="N",
                                       help="Inference threads per process (default: cores/workers)."),
    io_threads: int | None = typer.Option(None, metavar="N",
                                          help="Decode/encode threads per process (default: cores)."),
    max_batch: int = typer.Option(4, metavar="N", help="Images per model call (micro-batching)."),
    batch_wait_ms: float = typer.Option(2.0, metavar="MS",
                                        help="How long the first image waits for company."),
    queue: int = typer.Option(32, metavar="N", help="Requests a process holds at once; one more gets 503."),
    max_upload_mb: float = typer.Option(32.0, metavar="MB", help="Larger uploads get 413."),
    max_pixels: int = typer.Option(64_000_000, metavar="N",
                                   help="Larger images get 413 (bomb guard, as in run)."),
    timeout: float = typer.Option(60.0, metavar="SECONDS",
                                  help="Seconds per request (504 past it; also the SIGTERM grace)."),
    log_level: LogLevel = typer.Option("info", help="Server log level."),
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
            preset=preset, device=device.value, workers=workers, threads=threads, io_threads=io_threads,
            max_batch=max_batch, batch_wait_ms=batch_wait_ms, queue=queue,
            max_upload_bytes=round(max_upload_mb * 1024 * 1024), max_pixels=max_pixels,
            timeout=timeout, log_level=log_level.value, access_log=access_log,
        )
        code = run_server(options)
    except BgRemoveError as exc:
        raise fail(exc) from exc
    raise typer.Exit(code)
