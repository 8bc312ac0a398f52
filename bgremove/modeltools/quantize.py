"""Static int8 (QDQ) quantisation of an exported model, calibrated on real images.

Static rather than dynamic: static int8 ran faster than fp32, while dynamic int8 and fp16 were
slower than fp32 (the convolutions stay fp32 under dynamic quantisation).

The same file must give the same masks on every CPU, and onnxruntime's fast u8 x s8 kernels on
x86 CPUs without VNNI (AVX2, AVX-512 before Cascade Lake) add pairs of products in 16 bits with
saturation: with 8-bit weights a pair can reach 2 x 255 x 127 > 32767. On an AVX2-only EPYC the
8-bit file lost up to 0.027 IoU to fp32 there (davis 0.674 vs 0.702), while the very same file,
run with its integer arithmetic emulated in fp32 (graph optimisations off), was within 0.0012
of fp32, as on the VNNI machine it was made on. So the recipe (onnx_recipe) is:

- 7-bit weights (reduce_range) for the convolutions that run as a matrix product: a pair then
  stays below 2 x 255 x 64 < 32767, and every CPU computes the same exact sums;
- 8-bit weights for the depthwise convolutions, whose kernels widen to 16 bits before
  multiplying and add in 32 bits on every CPU (no pairs, no saturation);
- fp32 for the layers in FP32_NODES: the stem and block 0's depthwise convolution, the first two
  layers, at half the photo's resolution. Chosen with `python -m train.quant_sensitivity
  weights/bgremove-lite0.onnx --run runs/distil-square2 --calibration
  ../shared/data/train/ccp/images --out DIR` (each layer group kept in fp32 alone, then pairs;
  agreement with fp32 on 120 selection photos from the training pools, never val/), stage 17's
  weights on an AVX2 EPYC, mean |int8 - fp32| / mask IoU: all int8 0.00996 / 0.9707; stem
  0.00694 / 0.9767; block 0 0.00793 / 0.9752; any other encoder block, decoder stage or the
  head 0.0093-0.0101 / 0.9700-0.9724; blocks 5 and 11 (the recipe until 2026-12-02) 0.00976 /
  0.9710; stem and block 0's depthwise 0.00584 / 0.9804; stem and all of block 0 0.00503 /
  0.9823, but 7-9% slower per network call (`python bench/bench_weights.py`, its 1x1 projection
  at 160 x 160 in fp32), where the chosen pair is as fast as blocks 5 and 11. Whole val sets,
  IoU against fp32's 0.9639 / 0.9533 / 0.7082: chosen 0.9636 / 0.9528 / 0.7051, stem alone
  0.9632 / 0.9527 / 0.7047, blocks 5 and 11 0.9621 / 0.9529 / 0.7042, stem and block 0 0.9636 /
  0.9531 / 0.7065.

- biases corrected for the weights' rounding (biascorrect.py): the rounding of few weights per
  channel does not average out, and its mean effect had added foreground on val/davis; on stage
  20's soup, 120 selection photos, mean |int8 - fp32| 0.00651 -> 0.00398. Exporting takes two
  quantisations (the first, on one photo, only says how the weights round).

u8 x u8 (weight_type QUInt8) was exact too, but ran 4x slower than fp32; the runtime's own
fix-up (session.x64quantprecision, 8-bit weights turned u8 at load) ran slower than fp32 here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bgremove.errors import ConfigError
from bgremove.imaging.formats import is_image_name
from bgremove.inference.preprocess import Preprocessing, normalise, resize_image, sigmoid

# Node-name prefixes kept in fp32 (EfficientNet-lite0's first two layers; see the module docstring).
FP32_NODES = ("/encoder/_conv_stem/", "/encoder/_blocks.0/_depthwise_conv/")
# Activation ranges clip at this percentile of the calibration photos' values (None: MinMax, the
# full range). On stage 18's soup with this recipe, 120 selection photos (`python -m
# train.quant_sensitivity ... --no-sweep --percentile P`), mean |int8 - fp32| / mask IoU: 99.9
# 0.00665 / 0.9809, 99.99 0.00562 / 0.9842, 99.999 0.00591 / 0.9819, MinMax 0.00614 / 0.9822.
CALIB_PERCENTILE = 99.99
# Photos whose intermediate tensors calibration holds at once (~0.2 GB each at 320 px). All 64 at
# once peaked at ~13 GB; in chunks of 16, 4.3 GB, and on stage 18's soup (train.quant_sensitivity,
# 120 selection photos) mean |int8 - fp32| 0.00575 against 0.00562, 160 photos 0.00577: more
# photos do not help. (Files made before 2026-12-02 were calibrated on all 64 at once.)
CALIB_CHUNK = 16


def onnx_recipe(fp32_nodes: tuple[str, ...] = FP32_NODES, bias_correction: bool = True) -> str:
    """What the int8 file's metadata says about how it was made."""
    return ("int8-static-qdq; u8 activations, per-channel s8 weights: 7-bit for matrix-product "
            "convs, 8-bit depthwise; " + ("biases corrected for weight rounding; " if bias_correction else "")
            + "fp32: " + ", ".join(fp32_nodes))


@dataclass(frozen=True)
class QuantReport:
    path: Path
    images: int
    mean_abs_diff: float  # of the foreground probability, int8 vs fp32
    mean_iou: float  # of the 0.5-thresholded masks, int8 vs fp32


def calibration_images(folder: str | Path, limit: int) -> list[Path]:
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if is_image_name(p.name))
    if not files:
        raise ConfigError(f"no calibration images found in {folder}")
    step = max(1, len(files) // limit)  # spread the sample over the whole folder
    return files[::step][:limit]


def model_inputs(files: list[Path], pre: Preprocessing) -> Iterator[np.ndarray]:
    from bgremove.imaging.read import read_image

    size = pre.input_size
    for path in files:
        rgb = read_image(path).rgb
        # Square inputs: calibration needs one shape, and the range statistics do not depend on it.
        yield normalise(resize_image(rgb, size, size), pre)


def quantize_int8(
    fp32_path: str | Path,
    output: str | Path,
    calibration_dir: str | Path,
    limit: int = 64,
    fp32_nodes: tuple[str, ...] = FP32_NODES,
    calibration_cache: str | Path | None = None,
    percentile: float | None = CALIB_PERCENTILE,
    chunk_images: int = CALIB_CHUNK,
    bias_correction: bool = True,
) -> QuantReport:
    """calibration_cache: a file for onnxruntime's activation ranges, read when it exists, so
    several recipes of one model are calibrated once (train/quant_sensitivity.py); it must come
    from the same percentile. chunk_images: the most photos whose activations calibration holds
    at once: memory depends on it, the ranges only slightly (histograms merged chunk by chunk).
    bias_correction: lower each int8 convolution's bias by its weight rounding's mean effect on
    the calibration photos (bgremove/modeltools/biascorrect.py)."""
    import tempfile

    from bgremove.inference.backends import import_onnxruntime

    import_onnxruntime()  # its telemetry off before the quantisation tools load it
    from bgremove.inference.backends.onnx import OnnxBackend
    from bgremove.modeltools.export import _write_metadata

    fp32 = OnnxBackend(fp32_path, device="cpu")
    files = calibration_images(calibration_dir, limit)
    output = Path(output)
    with tempfile.TemporaryDirectory(prefix="bgremove-int8-") as tmp:
        source = Path(fp32_path)
        if bias_correction:
            source = _bias_corrected(source, fp32, files, fp32_nodes, percentile, Path(tmp))
        _quantize_static(source, output, _reader(files, fp32), fp32_nodes, percentile,
                         calibration_cache, calibration_chunk(len(files), chunk_images))
    meta = fp32.session.get_modelmeta().custom_metadata_map
    _write_metadata(output, {**meta, "bgremove.quantization": onnx_recipe(fp32_nodes, bias_correction)})
    int8 = OnnxBackend(output, device="cpu")
    return QuantReport(output, len(files), *agreement(fp32, int8, model_inputs(files, fp32.preprocessing)))


def _bias_corrected(fp32_path: Path, fp32, files: list[Path], fp32_nodes: tuple[str, ...],
                    percentile: float | None, tmp: Path) -> Path:
    """The fp32 file with biases corrected for the rounding of its int8 weights. A first int8
    file only says how the weights round, which does not depend on the activation ranges: one
    photo calibrates it."""
    from bgremove.modeltools.biascorrect import correct_biases

    rounded, corrected = tmp / "rounded.onnx", tmp / "corrected.onnx"
    _quantize_static(fp32_path, rounded, _reader(files[:1], fp32), fp32_nodes, percentile, None, 1)
    correct_biases(fp32_path, rounded, model_inputs(files, fp32.preprocessing), corrected)
    return corrected


def _reader(files: list[Path], fp32):
    """An onnxruntime CalibrationDataReader over the photos, one chunk at a time (set_range), so
    calibration keeps one chunk's intermediate tensors in memory instead of every photo's."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.set_range(0, len(files))

        def __len__(self) -> int:
            return len(files)

        def set_range(self, start_index: int, end_index: int) -> None:
            self.it = model_inputs(files[start_index:end_index], fp32.preprocessing)

        def get_next(self):
            batch = next(self.it, None)
            return None if batch is None else {fp32.input_name: batch}

    return Reader()


def calibration_chunk(images: int, most: int) -> int:
    """The largest chunk of at most `most` photos that divides them evenly (onnxruntime's strided
    calibration takes equal chunks only)."""
    return max(d for d in range(1, max(1, min(images, most)) + 1) if images % d == 0)


def _quantize_static(
    fp32_path: str | Path,
    output: Path,
    reader: object,  # an onnxruntime CalibrationDataReader with set_range
    fp32_nodes: tuple[str, ...],
    percentile: float | None,
    calibration_cache: str | Path | None,
    chunk: int,
) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    depthwise, excluded = _conv_roles(fp32_path, fp32_nodes)
    # Older onnxruntime releases take no calibration cache: pass it only when asked for.
    cache = {} if calibration_cache is None else {"calibration_cache_path": str(calibration_cache)}
    method = CalibrationMethod.MinMax if percentile is None else CalibrationMethod.Percentile
    quantize_static(
        str(fp32_path), str(output), reader, quant_format=QuantFormat.QDQ, per_channel=True,
        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, reduce_range=True,
        nodes_to_exclude=excluded, calibrate_method=method,
        extra_options={
            **({} if percentile is None else {"CalibPercentile": percentile}),
            "CalibStridedMinMax": chunk,  # despite the name, every method calibrates in chunks
            # Per-channel (axis 0) like the others, but all 8 bits: see the module docstring.
            "TensorQuantOverrides": {w: [{"axis": 0, "reduce_range": False}] for w in depthwise},
        },
        **cache,
    )


def _conv_roles(path: str | Path, fp32_nodes: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(weight names of the depthwise convolutions, names of the nodes kept in fp32)."""
    import onnx

    graph = onnx.load(str(path)).graph
    depthwise = [n.input[1] for n in graph.node if n.op_type == "Conv"
                 and any(a.name == "group" and a.i > 1 for a in n.attribute)]
    return depthwise, [n.name for n in graph.node if n.name.startswith(fp32_nodes)]


def agreement(fp32, int8, batches: Iterable[np.ndarray]) -> tuple[float, float]:
    """(mean |int8 - fp32| of the foreground probability, mean IoU of their 0.5 masks)."""
    pairs = [probability_agreement(sigmoid(fp32.predict(b)), sigmoid(int8.predict(b))) for b in batches]
    return tuple(float(v) for v in np.mean(pairs, axis=0))


def probability_agreement(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(mean |a - b|, IoU of a > 0.5 and b > 0.5; 1 where both are empty) of two probability maps."""
    ma, mb = a > 0.5, b > 0.5
    union = np.logical_or(ma, mb).sum()
    return float(np.abs(a - b).mean()), float(np.logical_and(ma, mb).sum() / union) if union else 1.0


def fp32_convolutions(path: str | Path) -> set[str]:
    """Names of the convolutions in an ONNX file whose weights are not dequantised int8."""
    import onnx

    graph = onnx.load(str(path)).graph
    producer = {o: n for n in graph.node for o in n.output}
    return {n.name for n in graph.node if n.op_type == "Conv"
            and getattr(producer.get(n.input[1]), "op_type", None) != "DequantizeLinear"}
