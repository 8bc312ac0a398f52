"""Image files: reading any image a catalog holds (bounded, damage noticed), writing outputs
atomically, PNG/JPEG/WebP encoding, and turning an image and its mask into cutout, mask and
composite (compose.py, with edge decontamination in foreground.py).

May import: bgremove.errors, numpy, OpenCV, PIL. Nothing else of bgremove.
"""
