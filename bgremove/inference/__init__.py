"""The inference core: from an image array to its alpha mask.

Holds Remover / remove (remover.py), the backends that load a weights file (backends/), the model's
input preparation (preprocess.py), tiling for large images, test-time augmentation, the mask
clean-up and stand-in backends for tests.

May import: bgremove.imaging, bgremove.model (only the torch backend, only for .pth files),
bgremove.errors. Never the batch engine, modeltools or the CLI.
"""
