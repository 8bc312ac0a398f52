"""The bearer token is compared in constant time: whatever a request sends, the comparison is
hmac.compare_digest over two SHA-256 digests of the same length, so neither the first wrong byte
nor the length of the guess changes the work done. (Enforcement over HTTP: test_serve_limits.py.)"""

from __future__ import annotations

import asyncio
import hashlib

import pytest

pytest.importorskip("fastapi")

from starlette.requests import Request  # noqa: E402

from bgremove.server import auth  # noqa: E402
from bgremove.server.problems import Problem  # noqa: E402

TOKEN = "correct horse battery staple"


def _request(authorization: str | None) -> Request:
    headers = [] if authorization is None else [(b"authorization", authorization.encode("latin-1"))]
    return Request({"type": "http", "method": "POST", "path": "/remove", "headers": headers})


def _check(check: auth.TokenCheck, authorization: str | None) -> bool:
    try:
        asyncio.run(check(_request(authorization)))
        return True
    except Problem as exc:
        assert exc.status == 401 and exc.headers == {"WWW-Authenticate": "Bearer"}
        return False


def test_every_guess_is_compared_as_two_equal_length_digests(monkeypatch):
    calls: list[tuple[bytes, bytes]] = []
    real = auth.hmac.compare_digest
    monkeypatch.setattr(auth.hmac, "compare_digest",
                        lambda a, b: calls.append((a, b)) or real(a, b))
    check = auth.TokenCheck(TOKEN)
    guesses = ["", "c", TOKEN[:-1], TOKEN + "x", "x" + TOKEN[1:], "z" * 10_000, TOKEN]
    results = [_check(check, f"Bearer {g}") for g in guesses]
    assert results == [False] * (len(guesses) - 1) + [True]
    assert len(calls) == len(guesses)  # no shortcut before the constant-time comparison
    expected = hashlib.sha256(TOKEN.encode()).digest()
    for a, b in calls:
        assert len(a) == len(b) == 32 and b == expected


def test_no_token_configured_lets_everything_in_and_a_token_needs_the_bearer_scheme():
    assert _check(auth.TokenCheck(None), None)
    check = auth.TokenCheck(TOKEN)
    assert not _check(check, None)
    assert not _check(check, f"Basic {TOKEN}")
    assert not _check(check, TOKEN)
    assert _check(check, f"bearer {TOKEN}")  # the scheme's name is case-insensitive (RFC 7235)
