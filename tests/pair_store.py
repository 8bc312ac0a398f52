"""In-memory image/mask pairs for CopyPaste tests: `load_pair` without files."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def store_loader(store: dict) -> Callable[[tuple], tuple[np.ndarray, np.ndarray]]:
    """A load_pair over {name: (image, mask or None)}, items being (name, anything); a missing
    mask reads as zeros, as train.data.load_pair gives for a plain background photo."""

    def load(item: tuple) -> tuple[np.ndarray, np.ndarray]:
        im, m = store[item[0]]
        return im, (m if m is not None else np.zeros(im.shape[:2], np.float32))

    return load
