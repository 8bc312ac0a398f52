"""Is a decoded file whole? The checks decoders leave out, and which of their messages are damage.

- PNG: PIL stops reading at the last pixel row, so a file cut inside its IEND chunk, a damaged
  byte in a chunk whose data zlib accepted, or an animated PNG cut after its first frame all
  decode "fine". `png_problems` walks the chunks: every CRC, the IEND chunk, and for APNG the
  frames the acTL chunk announces.
- JPEG: libjpeg pads or patches damaged data (grey blocks, smeared rows) and only says so on
  stderr; OpenCV's decoder lets it speak, PIL's silences it. A JPEG that PIL decodes (CMYK,
  files without their end marker) is therefore also run through OpenCV at 1/8 scale
  (`jpeg_probe`) for libjpeg's verdict, which decodelog catches.
- `is_damage`: which decoder messages mean damaged pixel data, and which are harmless notes
  about metadata (libtiff's unknown tags, an unknown JFIF revision).
"""

from __future__ import annotations

import re
import struct
import zlib
from typing import BinaryIO

import cv2
import numpy as np

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_BLOCK = 1 << 20
_HARMLESS = re.compile(r"unknown field|jfif revision|Warning, .*tag|after its end",
                       re.IGNORECASE)


def is_damage(message: str) -> bool:
    return _HARMLESS.search(message) is None


def png_problems(fp: BinaryIO, size: int) -> list[str]:
    """What is wrong with the PNG structure of `fp` (`size` bytes); [] when it is whole."""
    fp.seek(len(_PNG_SIGNATURE))
    pos, frames, announced = len(_PNG_SIGNATURE), 0, None
    while pos + 12 <= size:
        length, kind = struct.unpack(">I4s", fp.read(8))
        name = kind.decode("latin-1")
        if pos + 12 + length > size:
            return [f"PNG chunk {name} is cut short: the file is truncated"]
        crc = zlib.crc32(kind)
        left = length
        while left:
            block = fp.read(min(left, _BLOCK))
            crc = zlib.crc32(block, crc)
            left -= len(block)
            if kind == b"acTL" and announced is None and len(block) >= 4:
                announced = struct.unpack(">I", block[:4])[0]
        if struct.unpack(">I", fp.read(4))[0] != crc & 0xFFFFFFFF:
            return [f"PNG chunk {name} fails its CRC check: damaged bytes"]
        pos += 12 + length
        frames += kind == b"fcTL"
        if kind == b"IEND":
            extra = [f"{size - pos:,} bytes of other data after its end (IEND)"] if pos < size \
                else []
            return _frames(frames, announced) + extra
    return ["PNG file ends before its IEND chunk: truncated"]


def _frames(frames: int, announced: int | None) -> list[str]:
    if announced is not None and frames < announced:
        return [f"animated PNG has {frames} of the {announced} frames it announces: truncated"]
    return []


def jpeg_probe(fp: BinaryIO, end: int) -> list[str]:
    """For a JPEG that PIL decoded: the first `end` bytes of `fp` decoded once more with
    OpenCV's libjpeg at 1/8 scale, only to let libjpeg report damage on stderr (which
    decodelog.listened catches), and checked for an end marker after the last scan."""
    fp.seek(0)
    data = fp.read(end)
    cv2.imdecode(np.frombuffer(data, np.uint8),
                 cv2.IMREAD_REDUCED_GRAYSCALE_8 | cv2.IMREAD_IGNORE_ORIENTATION)
    # Neither marker can occur inside entropy-coded data (0xFF is stuffed there).
    if data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda"):
        return ["JPEG data ends without its end marker: truncated"]
    return []
