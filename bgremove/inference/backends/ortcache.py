"""onnxruntime's optimised graph, kept per machine, so a worker's session starts sooner.

Creating a CPU session runs onnxruntime's graph optimisations (constant folding, fusing the int8
file's QuantizeLinear/DequantizeLinear pairs into QLinear kernels, the NCHWc layout of the CPU
kernels): about half of the CPU a worker spends loading the bundled int8 file (~300 against
~150 ms on a 2-core AVX2 EPYC), paid by every worker of every run, which a cron job's small
batches feel most. The optimised graph can be
saved and loaded back with the optimisations off; the outputs are the same to the bit (tested).

The saved graph is only valid where it was made: the NCHWc layout follows the CPU's vector width
and the fused kernels onnxruntime's version. So the file is keyed by the model's bytes,
onnxruntime's version and this CPU's instruction-set flags, and written atomically (two workers
may make it at once). Anything that goes wrong (no writable cache folder, a damaged file) falls
back to an ordinary session; a file that does not load is removed.

Where: $BGREMOVE_CACHE_DIR, else $XDG_CACHE_HOME/bgremove, else ~/.cache/bgremove; in ort/.
BGREMOVE_ORT_CACHE=0 turns it off.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
from pathlib import Path
from typing import Any

CPU_ONLY = ["CPUExecutionProvider"]


def create_session(ort: Any, path: Path, opts: Any, providers: list[str]) -> Any:
    """ort.InferenceSession(path, opts, providers), through the cache where it applies."""
    cache = _cache_file(ort, path) if providers == CPU_ONLY and _enabled() else None
    if cache is None:
        return ort.InferenceSession(str(path), opts, providers=providers)
    level = opts.graph_optimization_level
    if cache.is_file():
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        try:
            return ort.InferenceSession(str(cache), opts, providers=providers)
        except Exception:  # noqa: BLE001 - a damaged or foreign file: make it again
            _remove(cache)
        opts.graph_optimization_level = level
    tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
    opts.optimized_model_filepath = str(tmp)
    try:
        session = ort.InferenceSession(str(path), opts, providers=providers)
    except Exception:  # noqa: BLE001 - saving failed (a full disk?): an ordinary session
        opts.optimized_model_filepath = ""
        _remove(tmp)
        return ort.InferenceSession(str(path), opts, providers=providers)
    opts.optimized_model_filepath = ""
    try:
        os.replace(tmp, cache)
    except OSError:
        _remove(tmp)
    return session


def cache_folder() -> Path:
    base = os.environ.get("BGREMOVE_CACHE_DIR")
    if base:
        return Path(base) / "ort"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "bgremove" / "ort"


def _enabled() -> bool:
    return os.environ.get("BGREMOVE_ORT_CACHE", "1") != "0"


def _cache_file(ort: Any, path: Path) -> Path | None:
    try:
        key = hashlib.sha256(path.read_bytes())
        key.update(f"|{ort.__version__}|{platform.machine()}|{_cpu_flags()}".encode())
        folder = cache_folder()
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, RuntimeError):  # RuntimeError: Path.home() without a home
        return None
    return folder / f"{path.stem}-{key.hexdigest()[:24]}.onnx"


@functools.cache  # read once per process, not per session
def _cpu_flags() -> str:
    """This CPU's instruction-set flags (Linux), else what the platform says of the processor."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith(("flags", "Features")):  # x86, ARM
                    return " ".join(sorted(line.split(":", 1)[1].split()))
    except OSError:
        pass
    return platform.processor()


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
