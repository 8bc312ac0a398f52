"""Whether an output file looks whole: its format's start and end markers are where they belong.

Cheap (a few bytes read at each end), so it can run once per output when a manifest written
before output sizes were recorded is upgraded (manifest.py): a PNG, JPEG or WebP cut short
anywhere fails it. It cannot see damage inside a file of the right length; the recorded sizes,
checked on every later run, catch an output that was truncated or replaced after it was written.
"""

from __future__ import annotations

import os

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # an empty IEND chunk with its CRC


def looks_complete(path: str | os.PathLike) -> bool:
    """False when `path` is missing or a PNG/JPEG/WebP without its end; True for other kinds."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - len(PNG_END)))
            tail = f.read()
    except OSError:
        return False
    if head.startswith(PNG_SIGNATURE):
        return tail == PNG_END
    if head.startswith(b"\xff\xd8"):
        return tail.endswith(b"\xff\xd9")
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return int.from_bytes(head[4:8], "little") + 8 == size
    return size > 0
