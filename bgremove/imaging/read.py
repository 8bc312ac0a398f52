"""Reading any image the catalog may hold into HWC uint8 RGB, and writing results safely.

Reading never trusts the file: the pixel count is checked before pixels are decoded (a 100 KB PNG
can claim 100 000 x 100 000 pixels), decoding is forced so truncation is caught here rather than
as a half-grey image later, and every failure becomes an ImageError that names the file.

Mode handling (what the model sees):
- EXIF orientation is applied, so masks line up with what viewers show.
- CMYK goes through its embedded ICC profile to sRGB when there is one (the sRGB result then
  carries no profile); otherwise PIL's plain conversion.
- 16-bit and 32-bit integer greyscale (I;16, I) is scaled to 8 bits: I;16 by its full 16-bit range,
  I by 0..65535 when any value exceeds 255, else taken as 8-bit values; F by 0..1 when max <= 1.
- L, 1-bit and palette images become RGB; palette transparency is kept as alpha.
- Images with alpha (RGBA, LA, PA, P with transparency): the model sees the colour composited on
  white (what the pixels under full transparency hold is arbitrary, often black), and the input
  alpha is kept in `LoadedImage.alpha`; Remover multiplies it into the predicted mask so what was
  transparent in the input stays transparent.
- An ICC profile is kept for the outputs only when it describes RGB (a grey profile in an RGB file
  would be wrong).
"""

from __future__ import annotations

import io
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image, ImageOps

from bgremove.errors import ImageError, ImageTooLargeError
from bgremove.imaging.bytecap import CappedFile, pixel_budget
from bgremove.imaging.colour import cmyk_to_rgb, is_rgb_profile, over_white, to_rgb
from bgremove.imaging.decodelog import listened
from bgremove.imaging.integrity import is_damage, jpeg_probe, png_problems

# A worker's peak memory is about 240 MiB + 14-15 MiB per megapixel (bench/bench_memory.py, JPEG
# and PNG inputs alike): 64 MP keeps one worker near 1.1 GB, and admits 61 MP camera photos.
DEFAULT_MAX_PIXELS = 64_000_000
_ORIENTATION = 0x0112  # EXIF tag

ImageSource = str | Path | bytes | BinaryIO | Image.Image | np.ndarray

# Decoder failures PIL raises for corrupt data besides OSError (PNG chunk errors are SyntaxError).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, zlib.error, IndexError)


@dataclass
class LoadedImage:
    """An input image ready for inference: `rgb` is HWC uint8 with EXIF orientation applied.

    `warnings`: what the decoders said (integrity.py, decodelog.py); `damaged`: whether that
    means the file's image data is damaged (the pixels may be partly made up)."""

    rgb: np.ndarray
    icc_profile: bytes | None = None
    path: str | None = None
    alpha: np.ndarray | None = None  # HW uint8 input transparency, None when fully opaque
    warnings: list[str] = field(default_factory=list)
    damaged: bool = False

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), PIL's order."""
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])


def read_image(source: ImageSource, max_pixels: int = DEFAULT_MAX_PIXELS,
               formats: Sequence[str] | None = None) -> LoadedImage:
    """Load a path, encoded bytes, a binary file object (left open), a PIL image or an HWC/HW
    uint8 RGB array (not BGR). Never reads more of a file than its pixels can need (bytecap).

    formats: PIL format names ("JPEG", "PNG", ...) an encoded source may be; None = any PIL reads.
    A server narrows it so no request reaches a decoder it does not need (EPS would run
    Ghostscript)."""
    if isinstance(source, np.ndarray):
        return _from_array(source, max_pixels)
    if isinstance(source, Image.Image):
        name = getattr(source, "filename", None) or None
        _check_pixels(source.size, max_pixels, name)
        return _from_pil(source, name)
    image, said, caught = listened(lambda: _read_encoded(source, max_pixels, formats))
    image.warnings = said + caught + image.warnings
    image.damaged = image.damaged or any(is_damage(m) for m in said)
    return image


def _read_encoded(source: str | Path | bytes | BinaryIO, max_pixels: int,
                  formats: Sequence[str] | None = None) -> LoadedImage:
    if isinstance(source, bytes | bytearray):
        if not source:
            raise ImageError("<bytes>", "empty data (0 bytes)")
        name, fp = "<bytes>", CappedFile(io.BytesIO(source), "<bytes>")
    elif hasattr(source, "read"):
        name = str(getattr(source, "path", None) or getattr(source, "name", None) or "<file>")
        fp = CappedFile(source, name, owned=False)
    else:
        name, fp = str(source), CappedFile(_open_file(Path(source)), str(source))
    with fp:
        img = _open_pil(fp, name, max_pixels, formats)  # parses the header only
        fp.limit = pixel_budget(*img.size)
        label = name if name != "<bytes>" else None
        image = _plain_jpeg(img, fp, label)
        if image is None:
            _decode(img, name)
            image = _from_pil(img, label)
            if img.format in ("JPEG", "MPO"):  # PIL hides libjpeg's complaints: OpenCV's speak
                image.warnings = jpeg_probe(fp, min(fp.size, fp.limit))
        if img.format == "PNG":
            image.warnings = png_problems(fp, fp.size)
        image.damaged = any(is_damage(m) for m in image.warnings)
        image.warnings += _misnamed(name, img.format)
        return image


_EXTENSIONS = {"JPEG": (".jpg", ".jpeg"), "MPO": (".jpg", ".jpeg"), "PNG": (".png",),
               "WEBP": (".webp",), "BMP": (".bmp",), "TIFF": (".tif", ".tiff")}


def _misnamed(name: str, fmt: str | None) -> list[str]:
    """A note when a file's content is not what its extension says (read fine all the same)."""
    ext = os.path.splitext(name)[1].lower()
    if not ext or name.startswith("<") or ext in _EXTENSIONS.get(fmt or "", ()):
        return []
    return [f"the file holds {fmt} data but is named {ext}"]


def _open_file(path: Path):
    try:
        if path.stat().st_size == 0:
            raise ImageError(path, "empty file (0 bytes)")
        return open(path, "rb")  # closed by _read_encoded's `with`
    except FileNotFoundError:
        raise ImageError(path, "file not found") from None
    except IsADirectoryError:
        raise ImageError(path, "is a directory, not an image") from None
    except PermissionError:
        raise ImageError(path, "permission denied") from None


def _open_pil(fp, name: str, max_pixels: int, formats: Sequence[str] | None = None) -> Image.Image:
    # Our own limit is the guard; PIL's global one must not be tighter, or it would refuse images
    # the caller allowed. Raised only, never lowered, so concurrent readers cannot undo each other.
    if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < max_pixels:
        Image.MAX_IMAGE_PIXELS = max_pixels
    if formats is not None:
        Image.init()  # every plugin registered: PIL checks the names against them
    try:
        img = Image.open(fp, formats=formats)
    except Image.DecompressionBombError as e:
        raise ImageTooLargeError(name, f"too many pixels ({e}); limit is {max_pixels:,}") from None
    except Image.UnidentifiedImageError:
        raise ImageError(name, "not an image PIL can read (unknown or corrupt format)") from None
    except _DECODE_ERRORS as e:
        raise ImageError(name, f"cannot open image: {e}") from None
    _check_pixels(img.size, max_pixels, name)
    return img


def _decode(img: Image.Image, name: str) -> None:
    try:
        # Decode now (PIL is lazy): truncation surfaces here. We never set
        # ImageFile.LOAD_TRUNCATED_IMAGES, which would turn it into silently grey pixels.
        img.load()
    except _DECODE_ERRORS as e:
        raise ImageError(name, f"corrupt or truncated image: {e}") from None


def _plain_jpeg(img: Image.Image, fp: CappedFile, name: str | None) -> LoadedImage | None:
    """The common catalog case, an RGB or grey JPEG, decoded by OpenCV: the same libjpeg-turbo
    pixels as PIL (checked equal on the bench photos and on PIL-written JPEGs of every chroma
    subsampling, progressive too), 2-5x faster with the copy into numpy, which PIL makes through
    its 4-byte-per-pixel internal layout; the EXIF orientation is applied with numpy. None for
    anything else, which PIL decodes. OpenCV also lets libjpeg report damage (decodelog).

    libjpeg pads a truncated file with grey and only warns, so a file must end with the JPEG
    end-of-image marker to come here; a truncated one goes to PIL, which raises. A file longer
    than its pixels can need (bytecap) goes to PIL too, which stops reading at the end marker.
    """
    if img.format != "JPEG" or img.mode not in ("RGB", "L") or fp.size > fp.limit:
        return None
    orientation = _orientation(img)
    fp.seek(0)
    data = fp.read()
    end = data if data.endswith(b"\xff\xd9") or not data.endswith(b"\0") else data.rstrip(b"\0")
    if not end.endswith(b"\xff\xd9"):
        return None
    grey = img.mode == "L"
    flags = (cv2.IMREAD_GRAYSCALE if grey else cv2.IMREAD_COLOR_RGB) | cv2.IMREAD_IGNORE_ORIENTATION
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if arr is None or arr.shape[:2] != (img.height, img.width):
        return None
    rgb = _oriented(np.repeat(arr[..., None], 3, axis=2) if grey else arr, orientation)
    icc = img.info.get("icc_profile") or None
    return LoadedImage(rgb=rgb, icc_profile=icc if is_rgb_profile(icc) else None, path=name)


def _oriented(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """HWC `rgb` turned upright for an EXIF orientation, as PIL's exif_transpose does."""
    if orientation in (5, 6, 7, 8):
        rgb = rgb.transpose(1, 0, 2)  # 5 transpose; 6, 7, 8 a rotation or flip of it
    flips = {2: (slice(None), slice(None, None, -1)), 3: (slice(None, None, -1),) * 2,
             4: (slice(None, None, -1),), 6: (slice(None), slice(None, None, -1)),
             7: (slice(None, None, -1),) * 2, 8: (slice(None, None, -1),)}
    if orientation in flips:
        rgb = rgb[flips[orientation]]
    return np.ascontiguousarray(rgb) if orientation != 1 else rgb


def _check_pixels(size: tuple[int, int], max_pixels: int, name: str | None) -> None:
    w, h = size
    if w <= 0 or h <= 0:
        raise ImageError(name, f"image has no pixels ({w}x{h})")
    if w * h > max_pixels:
        raise ImageTooLargeError(
            name, f"{w}x{h} = {w * h:,} pixels, more than the limit of {max_pixels:,} (max_pixels)"
        )


def _from_pil(img: Image.Image, name: str | None) -> LoadedImage:
    try:
        img = _upright(img)
        icc = img.info.get("icc_profile") or None
        if img.mode == "CMYK":
            img, icc = cmyk_to_rgb(img, icc), None
        rgb, alpha = to_rgb(img)
    except _DECODE_ERRORS as e:
        raise ImageError(name, f"cannot convert {img.mode} image to RGB: {e}") from None
    return LoadedImage(rgb=rgb, icc_profile=icc if is_rgb_profile(icc) else None, path=name,
                       alpha=alpha)


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation. A broken EXIF block loses the rotation, not the image."""
    if _orientation(img) == 1:
        return img  # exif_transpose would copy a 48 MP image for nothing
    try:
        return ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - PIL's EXIF parser raises many types on junk
        return img


def _orientation(img: Image.Image) -> int:
    try:
        return img.getexif().get(_ORIENTATION, 1) or 1
    except Exception:  # noqa: BLE001 - PIL's EXIF parser raises many types on junk
        return 1


def _from_array(arr: np.ndarray, max_pixels: int) -> LoadedImage:
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ImageError(None, f"array must be HW, HWC with 3 (RGB) or 4 (RGBA) channels, "
                               f"got shape {arr.shape}")
    _check_pixels((arr.shape[1], arr.shape[0]), max_pixels, None)
    if arr.dtype == np.uint16:
        arr = (arr >> 8).astype(np.uint8)
    elif arr.dtype != np.uint8:
        raise ImageError(None, f"array must be uint8 (or uint16), got {arr.dtype}")
    if arr.ndim == 2:
        return LoadedImage(rgb=np.repeat(arr[..., None], 3, axis=2))
    if arr.shape[2] == 4:
        alpha = np.ascontiguousarray(arr[..., 3])
        if alpha.min() < 255:
            return LoadedImage(rgb=over_white(arr, alpha), alpha=alpha)
        arr = arr[..., :3]
    return LoadedImage(rgb=np.ascontiguousarray(arr))
