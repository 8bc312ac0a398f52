"""The FastAPI application: POST /remove, GET /health, GET /ready, and the OpenAPI description
FastAPI makes from them (/openapi.json, /docs).

create_app(options) builds one; app_from_env() is what uvicorn's workers import (the options
travel in $BGREMOVE_SERVE_OPTIONS, as JSON, from runner.py).
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse

from bgremove.server import problems
from bgremove.server.auth import TokenCheck, scheme
from bgremove.server.model import ModelHost
from bgremove.server.options import ServeOptions
from bgremove.server.params import MEDIA_TYPES, RemoveParams
from bgremove.server.remove import remove
from bgremove.server.upload import IMAGE_TYPES

OPTIONS_ENV = "BGREMOVE_SERVE_OPTIONS"
try:  # the installed package's version: the server room does not import the package's top
    __version__ = importlib.metadata.version("bgremove")
except importlib.metadata.PackageNotFoundError:
    __version__ = "unknown"
log = logging.getLogger("bgremove.server")

_BINARY = {"schema": {"type": "string", "format": "binary"}}
_REQUEST_BODY = {
    "required": True,
    "description": "The image: the raw bytes as the body, or a multipart form with one file "
                   "field `image` (or `file`) and, optionally, the options as form fields.",
    "content": {
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["image"],
            "properties": {"image": {"type": "string", "format": "binary"}}}},
        **{t: _BINARY for t in IMAGE_TYPES},
    },
}
_ERROR = {"content": {"application/json": {"schema": problems.ERROR_SCHEMA}}}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The requested output (PNG, WebP or JPEG).",
          "content": {t: _BINARY for t in sorted(set(MEDIA_TYPES.values()))}},
    400: {"description": "An image that cannot be decoded, or a bad option.", **_ERROR},
    401: {"description": "The server has a token and the request did not bring it.", **_ERROR},
    413: {"description": "Over --max-upload-mb bytes or --max-pixels pixels.", **_ERROR},
    415: {"description": "A Content-Type or image format we do not take.", **_ERROR},
    503: {"description": "The queue is full, or the model is still loading.", **_ERROR},
    504: {"description": "No answer within --timeout.", **_ERROR},
}


def create_app(options: ServeOptions, *, backend_factory: Callable[[], Any] | None = None) -> FastAPI:
    host = ModelHost(options, backend_factory=backend_factory)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        loading = host.start()
        if options.workers > 1:
            # Workers share one socket: a worker takes connections only once its model is
            # there, so no request meets a loading worker. Alone, a process answers /health and
            # /ready (503) while it loads.
            await loading
        yield
        await host.stop()  # uvicorn has let requests in flight finish before this point

    app = FastAPI(title="bgremove", version=__version__, lifespan=lifespan,
                  description="Background removal for product photos: the model and outputs "
                  "of `bgremove run`, one image per request.")
    app.state.host = host
    problems.install(app)
    needs_token = Depends(TokenCheck(options.token))

    @app.get("/health", summary="Liveness: the process answers")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", summary="Readiness: 200 once the model is loaded, 503 before",
             responses={503: {"description": "The model is still loading."}})
    async def ready() -> JSONResponse:
        body = {"ready": host.ready, "model": host.model_name, "version": __version__}
        return JSONResponse(body, status_code=200 if host.ready else 503)

    @app.post("/remove", summary="Remove the background of one image",
              response_class=Response, responses=_RESPONSES,
              openapi_extra={"requestBody": _REQUEST_BODY},
              dependencies=[Depends(scheme), needs_token])
    async def remove_background(request: Request,
                                params: Annotated[RemoveParams, Query()]) -> Response:
        return await remove(host, request, params)

    @app.exception_handler(Exception)
    async def _internal(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        reason = "out of memory" if isinstance(exc, MemoryError) else f"{type(exc).__name__}: {exc}"
        return problems.problem_response(problems.Problem("internal", reason))

    return app


def app_from_env() -> FastAPI:
    """uvicorn's factory in each worker process."""
    return create_app(ServeOptions.from_json(os.environ[OPTIONS_ENV]))
