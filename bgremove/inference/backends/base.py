"""The one interface every backend offers: normalised NCHW float32 in, NCHW float32 logits out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # a run's parent finds the weights through this package without loading them
    import numpy as np

    from bgremove.inference.preprocess import Preprocessing


class Backend(Protocol):
    """A loaded model. `predict` takes (N, 3, H, W) float32, H and W multiples of
    `preprocessing.multiple` (or exactly input_size square when `preprocessing.square`), and
    returns (N, 1, H, W) float32 logits."""

    preprocessing: Preprocessing
    name: str

    def predict(self, batch: np.ndarray) -> np.ndarray: ...
