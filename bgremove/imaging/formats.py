"""Which file names are images bgremove reads: the extensions, in any letter case."""

from __future__ import annotations

import os

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})


def is_image_name(name: str) -> bool:
    """True for names with an image extension, in any letter case."""
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS
