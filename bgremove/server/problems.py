"""Every error the server answers is JSON: {"error": <code>, "reason": <one sentence>}, with the
status that says whose fault it is. Handlers turn our Problem, FastAPI's validation errors and
Starlette's own HTTP errors (404, 405) into that shape."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

# code -> status; the codes are the API's stable names, the reasons are for people.
STATUS = {
    "bad_option": 400,
    "bad_request": 400,
    "undecodable_image": 400,
    "unauthorized": 401,
    "not_found": 404,
    "method_not_allowed": 405,
    "too_large": 413,
    "unsupported_type": 415,
    "queue_full": 503,
    "not_ready": 503,
    "timeout": 504,
    "internal": 500,
}


class Problem(Exception):
    """Raise anywhere in a request to answer `code`'s status with `reason`."""

    def __init__(self, code: str, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason
        self.status = STATUS[code]
        self.headers = headers or {}


def problem_response(p: Problem) -> JSONResponse:
    return JSONResponse({"error": p.code, "reason": p.reason}, status_code=p.status,
                        headers=p.headers)


# For the OpenAPI description of every route that can fail.
ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string", "enum": sorted(STATUS)},
                   "reason": {"type": "string"}},
    "required": ["error", "reason"],
}


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(Problem("bad_option", _one_line(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
        p = Problem(code, str(exc.detail))
        p.status = exc.status_code
        return problem_response(p)


def _one_line(errors) -> str:
    """FastAPI's list of validation errors as one sentence naming each option."""
    parts = []
    for e in errors:
        where = ".".join(str(x) for x in e.get("loc", ())[1:]) or "request"
        if e.get("type") == "extra_forbidden":
            parts.append(f"unknown option {where!r}")
        else:
            parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return "; ".join(parts)
