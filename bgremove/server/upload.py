"""Reading one upload into memory within its limits: the image bytes and any form fields.

Two ways to send an image: the raw bytes as the body (Content-Type image/jpeg, image/png, ... or
application/octet-stream), or a multipart/form-data form with one file part (named `image` or
`file`) and, optionally, options as text fields. Nothing is ever spooled to disk: the body is read
into memory and never past max_upload_bytes (413 as soon as it would be), and the multipart parser
(python-multipart) writes into memory only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from bgremove.server.problems import Problem

# What a client may declare; anything else (text/plain, image/gif, a url-encoded form) is a 415.
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/bmp", "image/x-ms-bmp",
               "image/tiff", "application/octet-stream")
FILE_FIELDS = ("image", "file")
MAX_FIELDS = 32  # text fields of a form: options only, a handful at most
MAX_FIELD_BYTES = 1024


@dataclass
class Upload:
    data: bytes
    fields: dict[str, str] = field(default_factory=dict)


async def read_upload(request: Request, limit: int) -> Upload:
    """The request's image (and form fields); Problem for a type we do not take or a body over
    `limit` bytes."""
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    ctype = ctype.decode("latin-1").lower()
    multipart = ctype == "multipart/form-data"
    if not multipart and ctype and ctype not in IMAGE_TYPES:
        raise Problem("unsupported_type", f"Content-Type {ctype} is not accepted; send the image "
                      f"as multipart/form-data or as the body ({', '.join(IMAGE_TYPES)})")
    body = await read_body(request, limit)
    if not multipart:
        return Upload(body)
    boundary = params.get(b"boundary")
    if not boundary:
        raise Problem("bad_request", "multipart/form-data without a boundary")
    return parse_form(body, boundary)


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Problem("too_large", f"the upload is {int(declared):,} bytes, more than the limit "
                      f"of {limit:,} (--max-upload-mb)")
    buf = bytearray()
    async for chunk in request.stream():
        if len(buf) + len(chunk) > limit:  # a chunked body says its size only as it comes
            raise Problem("too_large", f"the upload is more than the limit of {limit:,} bytes "
                          "(--max-upload-mb)")
        buf += chunk
    if not buf:
        raise Problem("undecodable_image", "the request has no image (empty body)")
    return bytes(buf)


class _Form:
    """python-multipart callbacks collecting parts in memory."""

    def __init__(self) -> None:
        self.parts: list[tuple[dict[bytes, bytes], bytearray]] = []
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[bytes, bytes] = {}

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._begin, "on_part_data": self._data,
            "on_header_field": lambda d, s, e: self._header_name.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._header_value.extend(d[s:e]),
            "on_header_end": self._header_end,
        }

    def _begin(self) -> None:
        self._headers = {}
        self.parts.append((self._headers, bytearray()))
        if len(self.parts) > MAX_FIELDS + 1:
            raise Problem("bad_request", f"a form of more than {MAX_FIELDS + 1} parts")

    def _data(self, data: bytes, start: int, end: int) -> None:
        self.parts[-1][1].extend(data[start:end])

    def _header_end(self) -> None:
        self._headers[bytes(self._header_name).lower()] = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()


def parse_form(body: bytes, boundary: bytes) -> Upload:
    form = _Form()
    try:
        parser = MultipartParser(boundary, form.callbacks())
        parser.write(body)
        parser.finalize()
    except Problem:
        raise
    except Exception as exc:  # noqa: BLE001 - python-multipart raises several types on junk
        raise Problem("bad_request", f"malformed multipart/form-data: {exc}") from None
    image: bytes | None = None
    fields: dict[str, str] = {}
    for headers, data in form.parts:
        _, disp = parse_options_header(headers.get(b"content-disposition", b""))
        name = disp.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in disp or name in FILE_FIELDS:
            if image is not None or name not in FILE_FIELDS:
                raise Problem("bad_request", "send exactly one file, in a field named "
                              f"{' or '.join(FILE_FIELDS)}")
            _check_part_type(headers.get(b"content-type", b""))
            image = bytes(data)
        elif len(data) > MAX_FIELD_BYTES:
            raise Problem("bad_option", f"form field {name!r} is longer than {MAX_FIELD_BYTES} bytes")
        else:
            fields[name] = data.decode("utf-8", "replace")
    if not image:
        raise Problem("undecodable_image", "the form has no image (a file field named "
                      f"{' or '.join(FILE_FIELDS)})")
    return Upload(image, fields)


def _check_part_type(raw: bytes) -> None:
    ctype = parse_options_header(raw)[0].decode("latin-1").lower()
    if ctype and ctype not in IMAGE_TYPES:
        raise Problem("unsupported_type", f"the file's Content-Type {ctype} is not accepted "
                      f"({', '.join(IMAGE_TYPES)})")
