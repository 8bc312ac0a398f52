"""Preprocessing for foreign ONNX models that carry no bgremove metadata (rembg's model files).

With these, U2-Net and IS-Net run through bgremove's own pipeline (tiling, TTA, outputs), which is
also how the training data for our own model is labelled by a teacher.
"""

from __future__ import annotations

from pathlib import Path

from bgremove.errors import WeightsError
from bgremove.inference.preprocess import IMAGENET_MEAN, IMAGENET_STD, Preprocessing

# Exactly as rembg prepares them (its sessions' `normalize` and `predict`): a Lanczos resize to a
# square, division by the image's maximum, its mean/std, the output stretched to [0, 1] by its own
# min and max, and a Lanczos resize back.
_U2NET = Preprocessing(
    input_size=320, mean=IMAGENET_MEAN, std=IMAGENET_STD, scale_by_max=True, output="prob",
    square=True, resample="lanczos", minmax=True,
)

PRESETS: dict[str, Preprocessing] = {
    "u2net": _U2NET,
    "u2netp": _U2NET,
    "u2net_human_seg": _U2NET,
    "silueta": _U2NET,
    "isnet": Preprocessing(
        input_size=1024, mean=(0.5, 0.5, 0.5), std=(1.0, 1.0, 1.0), scale_by_max=True,
        output="prob", square=True, resample="lanczos", minmax=True,
    ),
}
# rembg's file names, so `--weights ~/.u2net/isnet-general-use.onnx` needs no --preset.
FILE_STEMS = {"isnet-general-use": "isnet", "isnet-anime": "isnet"}


def preset_for(name: str | None, path: Path) -> Preprocessing:
    """The named preset, or the one implied by a rembg file name; WeightsError if neither."""
    key = name or FILE_STEMS.get(path.stem, path.stem)
    if key in PRESETS:
        return PRESETS[key]
    if name:
        raise WeightsError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
    raise WeightsError(
        f"{path} has no bgremove metadata; pass --preset ({', '.join(sorted(PRESETS))}) "
        "to say how its input is prepared"
    )
