"""bgremove: background removal for folders of product photos.

Importing the package is cheap: torch, onnxruntime and typer load only when a model or the CLI is used.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "BgRemoveError", "Remover", "remove"]

from bgremove.errors import BgRemoveError


def __getattr__(name: str):
    # The inference API pulls in cv2 and the backends: load it on first use, not at import.
    if name in ("Remover", "remove"):
        from bgremove import api

        return getattr(api, name)
    raise AttributeError(f"module 'bgremove' has no attribute {name!r}")
