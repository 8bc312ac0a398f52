"""POST /remove, one request from admission to answer:

    ticket (503 when the process holds `queue` requests) -> read the upload (413, 415) ->
    decode in a thread (400, 413, 415) -> the model, micro-batched -> encode in a thread -> answer

all under one deadline (504 past --timeout), so a slow client cannot hold a ticket for ever.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import Request, Response

from bgremove.server import imagework
from bgremove.server.admission import Ticket
from bgremove.server.model import ModelHost
from bgremove.server.params import RemoveParams, Rendering, merged, rendering
from bgremove.server.problems import Problem
from bgremove.server.upload import read_upload

RETRY = {"Retry-After": "1"}
log = logging.getLogger("bgremove.server")


async def remove(host: ModelHost, request: Request, params: RemoveParams) -> Response:
    if not host.ready:
        raise Problem("not_ready", "the model is still loading; try again shortly", RETRY)
    render_as = rendering(params)  # a bad option is refused before the body is read
    ticket = host.admission.enter()
    if ticket is None:
        raise Problem("queue_full", f"the server holds {host.admission.limit} requests already "
                      "(--queue); try again shortly", RETRY)
    try:
        return await asyncio.wait_for(_answer(host, request, params, render_as, ticket),
                                      host.options.timeout)
    except asyncio.TimeoutError:
        raise Problem("timeout", f"no answer within {host.options.timeout:g} s (--timeout)") from None
    except Problem:
        raise
    except Exception as exc:  # noqa: BLE001 - one request's failure is that request's answer
        log.exception("POST /remove failed")
        reason = "out of memory" if isinstance(exc, MemoryError) else f"{type(exc).__name__}: {exc}"
        raise Problem("internal", reason) from None
    finally:
        ticket.close()


async def _answer(host: ModelHost, request: Request, params: RemoveParams, render_as: Rendering,
                  ticket: Ticket) -> Response:
    upload = await read_upload(request, host.options.max_upload_bytes)
    if upload.fields:
        render_as = rendering(merged(params, upload.fields))
    image = await ticket.run(host.io, imagework.decode, upload.data, host.options.max_pixels)
    del upload  # the decoded pixels replace the bytes
    alpha, batch = await host.batcher.mask(image, render_as.mode)
    data, flags = await ticket.run(host.io, imagework.render, image, alpha, render_as)
    headers = {"X-Bgremove-Batch-Size": str(batch)}  # how full the model's batches run
    if flags:
        headers["X-Bgremove-Flags"] = ",".join(flags)
    if image.damaged:  # decoded, but the decoder worked around damage (as run's report flags)
        headers["X-Bgremove-Damaged-Input"] = "true"
    return Response(content=data, media_type=render_as.media_type, headers=headers)
