"""The segmentation network (torch): encoder, decoder, BgNet and its .pth checkpoints.
Importing this package imports torch.

May import: torch and bgremove.errors. Nothing else of bgremove: checkpoints store the inference
preprocessing as a plain dict.
"""

from bgremove.model.net import DEFAULT_ARGS, TINY_ARGS, BgNet, build_model

__all__ = ["BgNet", "build_model", "DEFAULT_ARGS", "TINY_ARGS"]
