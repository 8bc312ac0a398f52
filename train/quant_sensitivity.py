"""Which layers the int8 file should keep in fp32: each layer group kept in fp32 alone, scored by
its agreement with fp32 on a run's selection photos (training pools, never val/).

    python -m train.quant_sensitivity runs/soup18/best-ship.onnx --run runs/distil-square2 \
        --calibration cache/calib_mix --calibration-images 96 --out runs/qsens

Prints one row per recipe: "all int8", the shipped recipe (FP32_NODES), then every group of
convolutions (the stem, each encoder block, each decoder stage, the head) kept in fp32 alone;
--group adds recipes of your own (comma-separated node-name prefixes; with --no-sweep only those
follow the first two). Each row: mean |int8 - fp32| of the foreground probability and the mean
and worst IoU of the 0.5 masks, on this machine's CPU. The file must give the same masks on every
CPU (bgremove/modeltools/quantize.py), so run it where the kernels are least exact (AVX2 without
VNNI). The activation ranges are calibrated once, as
`bgremove export --int8` calibrates them, and shared by every recipe (with bias correction, the
ranges of the first recipe's corrected biases: the corrections differ slightly between recipes).
--no-bias-correction quantises without it (bgremove/modeltools/biascorrect.py).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bgremove.inference.backends.onnx import OnnxBackend
from bgremove.inference.preprocess import sigmoid
from bgremove.modeltools.quantize import (
    CALIB_PERCENTILE,
    FP32_NODES,
    model_inputs,
    probability_agreement,
    quantize_int8,
)
from train.score import selection_sets


def layer_groups(path: Path) -> list[str]:
    """Node-name prefixes of the convolution groups, in graph order: '/encoder/_blocks.5/'."""
    import onnx

    groups: list[str] = []
    for node in onnx.load(str(path), load_external_data=False).graph.node:
        parts = node.name.split("/")
        if node.op_type != "Conv" or len(parts) < 3:
            continue
        prefix = "/".join(parts[:3] if len(parts) > 3 else parts[:2]) + "/"
        if prefix not in groups:
            groups.append(prefix)
    return groups


def recipes(path: Path, extra: list[str], sweep: bool = True) -> dict[str, tuple[str, ...]]:
    named = {"all int8": (), "shipped: " + ", ".join(FP32_NODES): FP32_NODES}
    if sweep:
        named.update({g: (g,) for g in layer_groups(path)})
    named.update({e: tuple(p for p in e.split(",") if p) for e in extra})
    return named


def selection_photos(run: Path, every: int) -> list[Path]:
    return [item[0] for s in selection_sets(run) for item in s.items[::every]]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("fp32", type=Path, help="the fp32 .onnx file")
    parser.add_argument("--run", type=Path, required=True, help="training run (its selection.json)")
    parser.add_argument("--calibration", type=Path, required=True, help="calibration photos")
    parser.add_argument("--calibration-images", type=int, default=64)
    parser.add_argument("--out", type=Path, required=True, help="folder for the int8 files")
    parser.add_argument("--every", type=int, default=3, help="score every n-th selection photo")
    parser.add_argument("--group", action="append", default=[], help="prefixes kept in fp32")
    parser.add_argument("--no-sweep", action="store_true", help="only the named recipes")
    parser.add_argument("--percentile", type=float, default=CALIB_PERCENTILE,
                        help="activation ranges' clipping percentile; 100: MinMax (no clipping)")
    parser.add_argument("--no-bias-correction", action="store_true",
                        help="quantise without correcting the biases for weight rounding")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    ranges = args.out / "ranges.json"
    ranges.unlink(missing_ok=True)  # another model's ranges may be there
    fp32 = OnnxBackend(args.fp32, device="cpu", threads=1)
    photos = selection_photos(args.run, args.every)
    print(f"{len(photos)} selection photos of {args.run}")
    # Decoded and run through fp32 once: every recipe is compared with the same inputs and outputs.
    inputs = list(model_inputs(photos, fp32.preprocessing))
    reference = [sigmoid(fp32.predict(b)) for b in inputs]
    for i, (name, nodes) in enumerate(recipes(args.fp32, args.group, not args.no_sweep).items()):
        path = args.out / f"recipe{i}.int8.onnx"
        quantize_int8(args.fp32, path, args.calibration, args.calibration_images, nodes,
                      calibration_cache=ranges,
                      percentile=None if args.percentile >= 100 else args.percentile,
                      bias_correction=not args.no_bias_correction)
        int8 = OnnxBackend(path, device="cpu", threads=1)
        per_photo = [probability_agreement(ref, sigmoid(int8.predict(b)))
                     for b, ref in zip(inputs, reference, strict=True)]
        mad, iou = np.mean(per_photo, axis=0)
        worst = min(p[1] for p in per_photo)
        print(f"{name:<48} |int8-fp32| {mad:.5f}  IoU {iou:.5f}  worst {worst:.4f}", flush=True)


if __name__ == "__main__":
    main()
