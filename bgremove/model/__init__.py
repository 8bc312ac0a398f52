"""The segmentation network. Importing this package imports torch."""

from bgremove.model.net import DEFAULT_ARGS, TINY_ARGS, BgNet, build_model

__all__ = ["BgNet", "build_model", "DEFAULT_ARGS", "TINY_ARGS"]
