"""Starting uvicorn for `bgremove serve`, after every check that can fail fast has passed.

uvicorn does the HTTP, the workers and the signals: on SIGTERM (or Ctrl-C) it stops listening at
once, so new connections are refused, lets the requests in flight finish (at most --timeout
seconds more), then stops the model and ends by the signal it got (143 / 130 in a shell). With
--workers N, uvicorn's supervisor holds the socket and N processes each load their own model.
"""

from __future__ import annotations

import os
import socket

from bgremove.errors import ConfigError, MissingExtraError
from bgremove.server.options import ServeOptions

APP = "bgremove.server.app:app_from_env"


def check(options: ServeOptions) -> None:
    """What can be known wrong before a socket or a model: the extra, the weights file."""
    try:
        import fastapi  # noqa: F401
        import python_multipart  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError(exc.name or "fastapi", "serve", "bgremove serve") from None
    from bgremove.inference.backends import resolve_weights

    path = resolve_weights(options.weights, int8=False)  # the server batches: model.py
    if path.suffix.lower() not in (".onnx", ".pth", ".pt"):
        raise ConfigError(f"{path}: unknown weights format {path.suffix!r}; expected .onnx or .pth")


def listen(host: str, port: int) -> socket.socket:
    """The listening socket uvicorn serves on (its workers share it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def serve(options: ServeOptions) -> int:
    """Serve until SIGTERM or Ctrl-C. The exit code: 0 after a stop (or death by the signal, as
    uvicorn re-raises it), 2 when uvicorn could not start, 3 when the model could not be loaded."""
    check(options)
    sock = listen(options.host, options.port)  # before any model: a taken port is a ConfigError
    import uvicorn

    from bgremove.server.app import OPTIONS_ENV

    os.environ[OPTIONS_ENV] = options.to_json()  # for the factory in each worker process
    settings = dict(
        factory=True, host=options.host, port=options.port, workers=options.workers,
        log_level=options.log_level, access_log=options.access_log, server_header=False,
        timeout_graceful_shutdown=int(options.timeout) + 1,
        # Connections beyond what the queue can use get uvicorn's own 503: idle or slow
        # connections cannot pile up without bound.
        limit_concurrency=4 * options.queue + 64,
    )
    if options.workers == 1:
        server = uvicorn.Server(uvicorn.Config(APP, **settings))
        server.run(sockets=[sock])  # a model that fails to load ends this process with 3 (model.py)
        return 0 if server.started else 2
    # Several workers: uvicorn's supervisor binds the port itself (its public interface), so
    # the socket above was only the check.
    sock.close()
    uvicorn.run(APP, **settings)
    return 0
