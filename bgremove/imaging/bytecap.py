"""How much of a file decoding may read: memory bounded by the pixels, not by the file's size.

A 32 KB JPEG padded to 1 GB is still a 32 KB JPEG to a viewer, but code that reads "the whole
file" holds 1 GB. Decoders read through a `CappedFile` instead: it serves the bytes below an
offset limit and refuses (ImageError) to go beyond it. The limit is HEADER_BYTES while the header
is parsed, then HEADER_BYTES + BYTES_PER_PIXEL x width x height: above what any real encoding of
that many pixels takes (uncompressed 16-bit RGBA is 8 bytes a pixel, float RGBA 16), plus room
for metadata (ICC profiles, XMP, EXIF thumbnails). Decoders that stop at the image's end marker
(JPEG, PNG) never come near it, so a padded file still decodes; one that must read it all
(WebP) is refused with a message instead of exhausting memory.
"""

from __future__ import annotations

import os
from typing import BinaryIO

from bgremove.errors import ImageError

HEADER_BYTES = 64 << 20
BYTES_PER_PIXEL = 16


def pixel_budget(width: int, height: int) -> int:
    return HEADER_BYTES + BYTES_PER_PIXEL * width * height


class CappedFile:
    """A read-only, seekable view of `raw` that raises ImageError on reading past `limit`."""

    def __init__(self, raw: BinaryIO, name: str, limit: int = HEADER_BYTES,
                 owned: bool = True) -> None:
        self.raw, self.name, self.limit, self.owned = raw, name, limit, owned
        self.size = _size(raw)

    def read(self, n: int | None = -1) -> bytes:
        pos = self.raw.tell()
        want = self.size - pos if n is None or n < 0 else n
        if pos + want > self.limit and self.size > self.limit:
            raise self._too_big()
        return self.raw.read(want)

    def readline(self, size: int | None = -1) -> bytes:
        want = -1 if size is None or size < 0 else size
        room = self.limit - self.raw.tell()
        if self.size <= self.limit or 0 <= want <= room:
            return self.raw.readline(want)
        line = self.raw.readline(max(room, 0))
        if not line.endswith(b"\n"):
            raise self._too_big()
        return line

    def _too_big(self) -> ImageError:
        return ImageError(self.name, f"file is {self.size:,} bytes, more than an image of this "
                          f"size can need ({self.limit:,}): padded, or damaged")

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        if self.owned:
            self.raw.close()

    def __enter__(self) -> CappedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _size(raw: BinaryIO) -> int:
    pos = raw.tell()
    size = raw.seek(0, os.SEEK_END)
    raw.seek(pos)
    return size
