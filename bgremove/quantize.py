"""Static int8 (QDQ) quantisation of an exported model, calibrated on real images.

Static rather than dynamic: on this CPU static int8 ran about 2x faster than fp32, while dynamic
int8 and fp16 were slower than fp32 (the convolutions stay fp32 under dynamic quantisation).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bgremove.discover import is_image_name
from bgremove.errors import ConfigError
from bgremove.preprocess import Preprocessing, normalise, resize_image, sigmoid


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


def _batches(files: list[Path], pre: Preprocessing) -> Iterator[np.ndarray]:
    from bgremove.io import read_image

    size = pre.input_size
    for path in files:
        rgb = read_image(path).rgb
        # Square inputs: calibration needs one shape, and the range statistics do not depend on it.
        yield normalise(resize_image(rgb, size, size), pre)


def quantize_int8(
    fp32_path: str | Path, output: str | Path, calibration_dir: str | Path, limit: int = 64
) -> QuantReport:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    from bgremove.backends.onnx import OnnxBackend
    from bgremove.export import _write_metadata

    fp32 = OnnxBackend(fp32_path, device="cpu")
    files = calibration_images(calibration_dir, limit)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = _batches(files, fp32.preprocessing)

        def get_next(self):
            batch = next(self.it, None)
            return None if batch is None else {fp32.input_name: batch}

    output = Path(output)
    quantize_static(
        str(fp32_path), str(output), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.Percentile,
        extra_options={"CalibPercentile": 99.99},
    )
    meta = fp32.session.get_modelmeta().custom_metadata_map
    _write_metadata(output, {**meta, "bgremove.quantization": "int8-static-qdq"})
    return _agreement(fp32, OnnxBackend(output, device="cpu"), files, output)


def _agreement(fp32, int8, files: list[Path], output: Path) -> QuantReport:
    diffs, ious = [], []
    for batch in _batches(files, fp32.preprocessing):
        a, b = sigmoid(fp32.predict(batch)), sigmoid(int8.predict(batch))
        diffs.append(float(np.abs(a - b).mean()))
        ma, mb = a > 0.5, b > 0.5
        union = np.logical_or(ma, mb).sum()
        ious.append(float(np.logical_and(ma, mb).sum() / union) if union else 1.0)
    return QuantReport(output, len(files), float(np.mean(diffs)), float(np.mean(ious)))
