"""The pixel work of one request outside the model: decoding the upload and encoding the answer.

Both run in a thread pool, off the event loop. Decoding is `bgremove run`'s reading
(imaging/read.py: the pixel limit checked before any pixel is decoded, bytes bounded by the
pixels, damage noticed), narrowed to the formats `bgremove run` takes; rendering is `run`'s too
(imaging/compose.py), so an answer's pixels are those of the file `run` writes.
"""

from __future__ import annotations

from bgremove.errors import ImageError, ImageTooLargeError
from bgremove.imaging.compose import render as render_outputs
from bgremove.imaging.read import LoadedImage, read_image
from bgremove.server.params import Rendering
from bgremove.server.problems import Problem

# The formats of `bgremove run`'s file types (.jpg .jpeg .png .webp .bmp .tif .tiff); PIL's JPEG
# opener also takes a camera's multi-picture JPEG (MPO).
PIL_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "TIFF")

# Image types people send that we do not take: a 415 names them instead of "not an image".
_OTHER_IMAGES = (
    (b"GIF87a", "GIF"), (b"GIF89a", "GIF"), (b"%PDF", "PDF"), (b"%!PS", "PostScript"),
    (b"\xc5\xd0\xd3\xc6", "EPS"), (b"8BPS", "PSD"), (b"\x00\x00\x01\x00", "ICO"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"), (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"qoif", "QOI"), (b"\xff\x0a", "JPEG XL"), (b"\x00\x00\x00\x0cJXL ", "JPEG XL"),
)
_FTYP_BRANDS = {b"heic": "HEIC", b"heix": "HEIC", b"mif1": "HEIF", b"avif": "AVIF", b"avis": "AVIF"}


def decode(data: bytes, max_pixels: int) -> LoadedImage:
    """The upload as `bgremove run` reads a file; Problem 413 / 415 / 400 when it cannot be."""
    try:
        return read_image(data, max_pixels, formats=PIL_FORMATS)
    except ImageTooLargeError as exc:
        raise Problem("too_large", exc.reason) from None
    except ImageError as exc:
        other = foreign_format(data)
        if other is not None:
            raise Problem("unsupported_type", f"{other} images are not supported; send JPEG, "
                          "PNG, WebP, BMP or TIFF") from None
        raise Problem("undecodable_image", exc.reason) from None


def foreign_format(data: bytes) -> str | None:
    """The name of an image format we recognise but do not take, from its first bytes."""
    head = data[:32]
    for magic, name in _OTHER_IMAGES:
        if head.startswith(magic):
            return name
    if head[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(head[8:12])
    stripped = head.lstrip()
    if stripped.startswith(b"<svg") or stripped.startswith(b"<?xml"):
        return "SVG"
    return None


def render(image: LoadedImage, alpha, rendering: Rendering) -> tuple[bytes, list[str]]:
    """The encoded output the request asked for, as `bgremove run` writes it, and the review
    flags rendering raised (upscale_capped)."""
    out = render_outputs(image.rgb, alpha, rendering.output, icc_profile=image.icc_profile)
    return out.data[rendering.kind], out.flags
