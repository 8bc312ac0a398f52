"""The optional bearer token: `Authorization: Bearer <token>` on /remove when the server has one.

Compared in constant time: both sides are hashed first (SHA-256), so neither the position of the
first wrong byte nor the token's length shows in the time an answer takes.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request
from fastapi.security import HTTPBearer

from bgremove.server.problems import Problem

# For OpenAPI (the "Authorize" button of /docs); the check itself is ours.
scheme = HTTPBearer(auto_error=False, description="Needed when the server has a token "
                    "(--token or $BGREMOVE_TOKEN).")


class TokenCheck:
    def __init__(self, token: str | None) -> None:
        self._digest = _digest(token) if token is not None else None

    async def __call__(self, request: Request) -> None:
        if self._digest is None:
            return
        scheme_name, _, given = request.headers.get("authorization", "").partition(" ")
        ok = scheme_name.lower() == "bearer" and hmac.compare_digest(_digest(given.strip()),
                                                                     self._digest)
        if not ok:
            raise Problem("unauthorized", "a valid bearer token is needed "
                          "(Authorization: Bearer <token>)", {"WWW-Authenticate": "Bearer"})


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()
