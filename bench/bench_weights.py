"""CPU latency of ONNX weight files side by side (for example fp32 against its int8 export).

    python bench/bench_weights.py weights/bgremove-lite0.onnx weights/bgremove-lite0.int8.onnx

Each file runs through bgremove's own onnx backend on the same normalised batch at its input
size, alternating files round by round so that the machine's noise hits them alike. Prints the
median latency per file with 1 thread and with all cores, and each file's ratio to the first.
Timings on shared machines are noisy: read the ratios, which are measured in one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from bgremove.inference.backends.onnx import OnnxBackend


def load(paths: list[str], threads: int) -> list[OnnxBackend]:
    return [OnnxBackend(p, device="cpu", threads=threads) for p in paths]


def batch_for(size: int, batch: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.standard_normal((batch, 3, size, size)).astype(np.float32)


def medians_ms(backends: list[OnnxBackend], x: np.ndarray, runs: int) -> list[float]:
    for b in backends:  # warm-up: first calls allocate and pick kernels
        b.predict(x)
    times: list[list[float]] = [[] for _ in backends]
    for _ in range(runs):
        for i, b in enumerate(backends):
            t = time.perf_counter()
            b.predict(x)
            times[i].append((time.perf_counter() - t) * 1000)
    return [statistics.median(t) for t in times]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("weights", nargs="+", help="ONNX files; ratios are to the first")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--size", type=int, default=0, help="input side (0: the first file's)")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    for threads in sorted({1, cores}):
        backends = load(args.weights, threads)
        size = args.size or backends[0].preprocessing.input_size
        ms = medians_ms(backends, batch_for(size, args.batch), args.runs)
        for path, m in zip(args.weights, ms, strict=True):
            print(f"threads={threads} {size}x{size} batch={args.batch} {path}: "
                  f"{m:.1f} ms (x{ms[0] / m:.2f} vs first)")


if __name__ == "__main__":
    main()
