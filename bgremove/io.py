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
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageCms, ImageOps

from bgremove.encode import encode_image  # noqa: F401 - re-exported: callers import it here
from bgremove.errors import ImageError

DEFAULT_MAX_PIXELS = 200_000_000
_ORIENTATION = 0x0112  # EXIF tag
_BAND_PIXELS = 4_000_000

ImageSource = str | Path | bytes | Image.Image | np.ndarray

# Decoder failures PIL raises for corrupt data besides OSError (PNG chunk errors are SyntaxError).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, zlib.error, IndexError)


@dataclass
class LoadedImage:
    """An input image ready for inference: `rgb` is HWC uint8 with EXIF orientation applied."""

    rgb: np.ndarray
    icc_profile: bytes | None = None
    path: str | None = None
    alpha: np.ndarray | None = None  # HW uint8 input transparency, None when fully opaque

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), PIL's order."""
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])


def read_image(source: ImageSource, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Load a path, encoded bytes, a PIL image or an HWC/HW uint8 RGB array (not BGR)."""
    if isinstance(source, np.ndarray):
        return _from_array(source, max_pixels)
    if isinstance(source, Image.Image):
        name = getattr(source, "filename", None) or None
        _check_pixels(source.size, max_pixels, name)
        return _from_pil(source, name)
    name = "<bytes>" if isinstance(source, bytes | bytearray) else str(source)
    if isinstance(source, bytes | bytearray):
        if not source:
            raise ImageError(name, "empty data (0 bytes)")
        fp = io.BytesIO(source)
    else:
        fp = _open_file(Path(source))
    with fp:
        img = _open_pil(fp, name, max_pixels)  # parses the header only
        label = name if name != "<bytes>" else None
        fast = _plain_jpeg(img, fp, label)
        if fast is not None:
            return fast
        _decode(img, name)
        return _from_pil(img, label)


def _open_file(path: Path):
    try:
        if path.stat().st_size == 0:
            raise ImageError(path, "empty file (0 bytes)")
        return open(path, "rb")  # closed by read_image's `with`
    except FileNotFoundError:
        raise ImageError(path, "file not found") from None
    except IsADirectoryError:
        raise ImageError(path, "is a directory, not an image") from None
    except PermissionError:
        raise ImageError(path, "permission denied") from None


def _open_pil(fp, name: str, max_pixels: int) -> Image.Image:
    # Our own limit is the guard; PIL's global one must not be tighter, or it would refuse images
    # the caller allowed. Raised only, never lowered, so concurrent readers cannot undo each other.
    if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < max_pixels:
        Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        img = Image.open(fp)
    except Image.DecompressionBombError as e:
        raise ImageError(name, f"too many pixels ({e}); limit is {max_pixels:,}") from None
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


def _plain_jpeg(img: Image.Image, fp, name: str | None) -> LoadedImage | None:
    """The common catalog case, an upright RGB JPEG, decoded by OpenCV: the same libjpeg-turbo
    pixels as PIL (checked equal on the bench photos and on PIL-written JPEGs of every chroma
    subsampling, progressive too), 2-5x faster with the copy into numpy, which PIL makes through
    its 4-byte-per-pixel internal layout. None for anything else, which PIL decodes.

    libjpeg pads a truncated file with grey and only warns, so a file must end with the JPEG
    end-of-image marker to come here; a truncated one goes to PIL, which raises.
    """
    if img.format != "JPEG" or img.mode != "RGB" or _orientation(img) != 1:
        return None
    fp.seek(0)
    data = fp.read()
    if not data.rstrip(b"\0").endswith(b"\xff\xd9"):
        return None
    flags = cv2.IMREAD_COLOR_RGB | cv2.IMREAD_IGNORE_ORIENTATION
    rgb = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if rgb is None or rgb.shape != (img.height, img.width, 3):
        return None
    icc = img.info.get("icc_profile") or None
    return LoadedImage(rgb=rgb, icc_profile=icc if _is_rgb_profile(icc) else None, path=name)


def _check_pixels(size: tuple[int, int], max_pixels: int, name: str | None) -> None:
    w, h = size
    if w <= 0 or h <= 0:
        raise ImageError(name, f"image has no pixels ({w}x{h})")
    if w * h > max_pixels:
        raise ImageError(
            name, f"{w}x{h} = {w * h:,} pixels, more than the limit of {max_pixels:,} (max_pixels)"
        )


def _from_pil(img: Image.Image, name: str | None) -> LoadedImage:
    try:
        img = _upright(img)
        icc = img.info.get("icc_profile") or None
        if img.mode == "CMYK":
            img, icc = _cmyk_to_rgb(img, icc), None
        rgb, alpha = _to_rgb(img)
    except _DECODE_ERRORS as e:
        raise ImageError(name, f"cannot convert {img.mode} image to RGB: {e}") from None
    return LoadedImage(rgb=rgb, icc_profile=icc if _is_rgb_profile(icc) else None, path=name,
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


def _cmyk_to_rgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    if icc:
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            dst = ImageCms.createProfile("sRGB")
            return ImageCms.profileToProfile(img, src, dst, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile should not lose the image: fall back to the naive formula
    return img.convert("RGB")


def _to_rgb(img: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    mode = img.mode
    if mode.startswith("I") or mode == "F":
        return _wide_grey_to_rgb(img), None
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode in ("P", "L", "RGB") and "transparency" in img.info
    )
    if not has_alpha:
        return _to_array(img, "RGB"), None
    rgba = _to_array(img, "RGBA")
    alpha = np.ascontiguousarray(rgba[..., 3])
    if alpha.min() == 255:
        return np.ascontiguousarray(rgba[..., :3]), None
    return _over_white(rgba[..., :3], alpha), alpha


def _to_array(img: Image.Image, mode: str) -> np.ndarray:
    """np.asarray(img.convert(mode)), in row bands: converting and copying a 48 MP image whole
    holds three full-size copies at once (PIL's, tobytes' chunks and their join)."""
    w, h = img.size
    out = np.empty((h, w, len(mode)), np.uint8)
    step = max(1, _BAND_PIXELS // w)
    for y0 in range(0, h, step):
        band = img.crop((0, y0, w, min(h, y0 + step)))
        out[y0 : y0 + step] = np.asarray(band if band.mode == mode else band.convert(mode))
    return out


def _wide_grey_to_rgb(img: Image.Image) -> np.ndarray:
    arr = np.asarray(img)
    if img.mode == "F":
        top = 1.0 if float(np.nanmax(arr)) <= 1.0 else 255.0
    elif img.mode.startswith("I;16"):
        top = 65535.0
    else:
        top = 65535.0 if int(arr.max()) > 255 else 255.0
    grey = np.clip(np.nan_to_num(arr.astype(np.float32)) * (255.0 / top) + 0.5, 0, 255)
    grey = grey.astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def _over_white(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha.astype(np.uint16)[..., None]
    out = (rgb.astype(np.uint16) * a + 255 * (255 - a) + 127) // 255
    return out.astype(np.uint8)


def _is_rgb_profile(icc: bytes | None) -> bool:
    # ICC header: the data colour space signature sits at bytes 16..20.
    return bool(icc) and len(icc) >= 20 and icc[16:20] == b"RGB "


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
            return LoadedImage(rgb=_over_white(arr[..., :3], alpha), alpha=alpha)
        arr = arr[..., :3]
    return LoadedImage(rgb=np.ascontiguousarray(arr))


def _umask() -> int:
    # os.umask can only be read by setting it; done once at import, before worker threads exist.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` so readers only ever see the old file or the complete new one.

    A temporary file in the same directory is written, fsync-ed and renamed over `path`; on any
    failure the temporary file is removed and an existing `path` is left untouched.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _FILE_MODE)  # mkstemp makes 0600; outputs should be like any other file
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
