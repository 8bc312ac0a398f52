"""bgremove: background removal for folders of product photos.

Importing the package is cheap: torch, onnxruntime and typer load only when a model or the CLI is used.
The public API is `Remover` and `remove` (bgremove.inference.remover) and, for whole folders,
`bgremove.batch.driver.run`. The code lives in rooms that import downwards only (README, "How the
code is laid out"; tests/test_layout.py checks it):

    cli.py -> review/ -> batch/, modeltools/ -> inference/ -> imaging/, model/
    (-> errors.py, numpy, OpenCV)
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "BgRemoveError", "Remover", "remove"]

from bgremove.errors import BgRemoveError


def __getattr__(name: str):
    # The inference API pulls in cv2 and the backends: load it on first use, not at import.
    if name in ("Remover", "remove"):
        from bgremove.inference import remover

        return getattr(remover, name)
    raise AttributeError(f"module 'bgremove' has no attribute {name!r}")
