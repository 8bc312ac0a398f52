"""Training pipeline for bgremove's segmentation weights (not part of the installed package)."""
