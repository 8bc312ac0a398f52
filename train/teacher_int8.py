"""An int8 copy of the U-2-Net teacher, so that relabelling every pool fits one session.

    python -m train.teacher_int8 .peers/u2net/u2net.onnx cache/teachers/u2net-int8.onnx \\
        --calibration cache/photos/caltech101 cache/photos/clothing cache/photos/grocery \\
        ../shared/data/unlabeled/imagenet-1k
    python -m train.label_teacher cache/photos/caltech101 ... \\
        --out cache/labels/u2net-int8 --teacher u2net-int8=cache/teachers/u2net-int8.onnx

The labels are a cache and go with a bare machine; at ~1 photo a second on 2 cores, U-2-Net
needs ~6 hours for the ~21,000 pool photos, more than a session. Its int8 copy runs 3.1-3.4x
faster per photo here and labels as well, measured on val's ground truth (the teacher is chosen
there; see "Teachers" in weights/MODEL_CARD.md).

Its own recipe, not bgremove's `quantize_int8` (made for our network):
- rembg's file is opset 11, whose DequantizeLinear has no `axis`; per-channel weights need 13,
  so the graph is converted first (the arithmetic is unchanged);
- activation ranges by their min and max: the 99.99 percentile that suits our network clipped
  U-2-Net's (agreement with fp32 on 18 pool photos: mask IoU 0.899 against 0.942 with min/max),
  and its histograms of 48 photos' activations did not fit in 24 GB;
- no layer kept in fp32 and no bias correction: the val check below needs neither.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

from bgremove.imaging.formats import is_image_name

OPSET = 13  # the first with per-channel DequantizeLinear
RECIPE = f"int8 QDQ, opset {OPSET}, weights per channel, activation ranges by min/max"


def calibration_photos(folders: list[Path], per_folder: int) -> list[Path]:
    """`per_folder` photos spread evenly over each folder (sorted names), folders in turn."""
    chosen: list[Path] = []
    for folder in folders:
        files = sorted(p for p in Path(folder).iterdir() if is_image_name(p.name))
        if not files:
            raise SystemExit(f"{folder}: no photos to calibrate on")
        step = max(1, len(files) // per_folder)
        chosen += files[step // 2 :: step][:per_folder]
    return chosen


def _reader(photos: list[Path], preset: str, input_name: str):
    from onnxruntime.quantization import CalibrationDataReader

    from bgremove.inference.backends.presets import PRESETS
    from bgremove.modeltools.quantize import model_inputs

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it: Iterator = model_inputs(photos, PRESETS[preset])

        def get_next(self) -> dict | None:
            x = next(self.it, None)
            return None if x is None else {input_name: x}

    return Reader()


def quantize_teacher(fp32: Path, out: Path, photos: list[Path], preset: str = "u2net") -> Path:
    import onnx
    from onnx import version_converter

    from bgremove.inference.backends import import_onnxruntime

    import_onnxruntime()  # its telemetry off before the quantisation tools load it
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    model = onnx.load(str(fp32))
    if model.opset_import[0].version < OPSET:
        model = version_converter.convert_version(model, OPSET)
    out.parent.mkdir(parents=True, exist_ok=True)
    upgraded, tmp = out.with_name(out.name + ".opset.tmp"), out.with_name(out.name + ".tmp")
    onnx.save(model, str(upgraded))
    try:
        quantize_static(
            str(upgraded), str(tmp), _reader(photos, preset, model.graph.input[0].name),
            quant_format=QuantFormat.QDQ, per_channel=True, activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax,
        )
    finally:
        upgraded.unlink(missing_ok=True)
    quantized = onnx.load(str(tmp))
    quantized.metadata_props.add(key="bgremove.quantization", value=(
        f"{RECIPE}; calibrated on {len(photos)} photos; from {fp32.name}"))
    onnx.save(quantized, str(tmp))
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.teacher_int8", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("fp32", type=Path, help="rembg's u2net.onnx")
    ap.add_argument("out", type=Path, nargs="?", default=Path("cache/teachers/u2net-int8.onnx"))
    ap.add_argument("--calibration", type=Path, nargs="+", required=True,
                    help="photo folders from the pools to label (never val/)")
    ap.add_argument("--per-folder", type=int, default=12,
                    help="photos from each folder (48 from four pools: min/max settles well before)")
    args = ap.parse_args(argv)
    photos = calibration_photos(args.calibration, args.per_folder)
    print(f"wrote {quantize_teacher(args.fp32, args.out, photos)} ({len(photos)} calibration photos)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
