"""onnxruntime backend: the default runtime, needs no torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bgremove.errors import ConfigError, WeightsError
from bgremove.inference.backends.ortcache import create_session
from bgremove.inference.backends.presets import preset_for
from bgremove.inference.preprocess import Preprocessing, logit

METADATA_KEY = "bgremove.preprocessing"
# onnxruntime's own warnings (an int8 file prints 128 "Removing initializer ..." lines at load)
# are notes for its developers: errors only, so a cron job's mail holds what bgremove says.
LOG_ERRORS_ONLY = 3


class OnnxBackend:
    name = "onnx"

    def __init__(
        self,
        path: str | Path,
        device: str = "auto",
        threads: int | None = None,
        preset: str | None = None,
    ) -> None:
        from bgremove.inference.backends import import_onnxruntime

        ort = import_onnxruntime()
        path = Path(path)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = LOG_ERRORS_ONLY
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        try:
            self.session = create_session(
                ort, path, opts, _providers(device, ort.get_available_providers())
            )
        except Exception as exc:  # onnxruntime raises its own exception types per failure kind
            raise WeightsError(f"cannot load ONNX model {path}: {exc}") from exc
        self.device = "cuda" if "CUDA" in self.session.get_providers()[0] else "cpu"
        meta = self.session.get_modelmeta().custom_metadata_map
        if METADATA_KEY in meta and not preset:
            self.preprocessing = Preprocessing.from_json(meta[METADATA_KEY])
        else:
            self.preprocessing = preset_for(preset, path)
        model_input = self.session.get_inputs()[0]
        self.input_name = model_input.name
        # Some foreign files (rembg's u2netp) fix the batch at 1: feed those one image at a time.
        self.fixed_batch = isinstance(model_input.shape[0], int)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, np.float32)
        if self.fixed_batch and len(batch) > 1:
            return np.concatenate([self.predict(batch[i : i + 1]) for i in range(len(batch))])
        out = self.session.run(None, {self.input_name: batch})[0]
        out = out.reshape(out.shape[0], 1, *out.shape[-2:])
        return logit(out) if self.preprocessing.output == "prob" else out


def _providers(device: str, available: list[str]) -> list[str]:
    if device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"unknown device {device!r}; use auto, cpu or cuda")
    has_cuda = "CUDAExecutionProvider" in available
    if device == "cuda" and not has_cuda:
        raise ConfigError(
            "--device cuda was asked for, but onnxruntime has no CUDA provider here "
            f"(available: {', '.join(available)}). Install it with: "
            'pip install "bgremove[gpu]" (and a CUDA runtime), or use --device cpu'
        )
    if device == "cpu" or not has_cuda:
        return ["CPUExecutionProvider"]
    return ["CUDAExecutionProvider", "CPUExecutionProvider"]
