"""The mask cache: each image's 8-bit mask kept in OUT_DIR, so a re-render skips the network.

When only rendering options change (formats, quality, colour, crop, margin, canvas), the mask
is the same: the network's output depends on the image, the weights, --tta, --clean, --no-zoom,
--mirror, --preset and --threshold only (the model key, plan.py). Each processed image's mask,
exactly as rendering uses it (`compose.final_alpha`, full resolution), is written as a grey PNG to
`OUT_DIR/.bgremove-masks/ab/<name>.png`, and a later run whose model key matches renders from it
instead of running the network; the outputs are byte for byte what a fresh run would write.

The file name is a hash of the input's relative path, size, modification time and the model key,
so a file can only ever be read back for the very input and model it was made from: a changed
image, other weights or a run killed half way can leave an unused file behind, never a wrong
one. The driver removes an image's previous file when it writes a new one, and the temporary
files of a killed run (`remove_temps`, before a run's first task and after its last); deleting the whole
folder is always safe (the next run just runs the network again). `--no-mask-cache` turns it
off. Local OUT_DIRs only (a bucket OUT has none).
"""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING

from bgremove.errors import BgRemoveError
from bgremove.imaging.completeness import PNG_END

if TYPE_CHECKING:
    import numpy as np

FOLDER = ".bgremove-masks"


def cache_path(out_dir: str, rel: str, size: int, mtime_ns: int, model_key: str) -> str:
    """Where the mask of this input version under this model lives."""
    ident = "\0".join([rel, str(size), str(mtime_ns), model_key]).encode("utf-8", "surrogateescape")
    digest = hashlib.sha256(ident).hexdigest()[:32]
    return os.path.join(out_dir, FOLDER, digest[:2], digest + ".png")


def load(path: str, shape: tuple[int, int]) -> np.ndarray | None:
    """The cached HW uint8 mask, or None when it is missing, incomplete or not `shape`."""
    import cv2  # here, not at the top: a run's parent uses this module's paths only
    import numpy as np

    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if not data.endswith(PNG_END):
        return None
    a8 = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if a8 is None or a8.dtype != np.uint8 or a8.shape != tuple(shape):
        return None
    return a8


def store(path: str, a8: np.ndarray, forbidden: str | None = None) -> bool:
    """Write the mask atomically; False (and nothing left behind) when that fails: a cache that
    cannot be written costs the next re-render a network pass, never this image. No fsync:
    `load` rejects a file a power cut left short or holed (no PNG end, no decode, another
    shape), and the image's outputs, which are synced, do not depend on it."""
    from bgremove.imaging.encode import encode_image
    from bgremove.imaging.safewrite import make_folder, write_atomic

    try:
        make_folder(os.path.dirname(path), forbidden)
        write_atomic(path, encode_image(a8, "png", png_compression=1), forbidden, durable=False)
    except (OSError, BgRemoveError):
        return False
    return True


def remove_temps(out_dir: str, forbidden: str | None = None) -> int:
    """Delete the temporary files a killed run left in the cache (how many went). Only while
    no run writes into it: before a run's first task and after its last, under its lock."""
    from bgremove.imaging.safewrite import remove_temps as remove_in

    root = os.path.join(out_dir, FOLDER)
    try:
        with os.scandir(root) as entries:
            folders = [e.path for e in entries if e.is_dir(follow_symlinks=False)]
    except (FileNotFoundError, NotADirectoryError):
        return 0
    return sum(remove_in(folder, forbidden) for folder in folders)


def remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
