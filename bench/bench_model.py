"""Parameters, GFLOPs and CPU latency of a model config at 320 and 512 pixels.

    python bench/bench_model.py [--encoder lite0] [--sizes 320 512] [--runs 20]

Latency is onnxruntime fp32 on CPU (the shipped runtime), median of --runs, with 1 thread and with
all cores; the torch eager figure is shown for reference. Timings on shared machines are noisy: read
ratios within one run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from bgremove.inference.preprocess import DEFAULT_PREPROCESSING
from bgremove.model import DEFAULT_ARGS, build_model
from bgremove.model.checkpoint import save_checkpoint
from bgremove.modeltools.export import export_onnx


def gflops(model: torch.nn.Module, size: int, part: torch.nn.Module | None = None) -> float:
    """Multiply-adds x 2, counted by torch's flop counter on one image."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    return counter.get_total_flops() / 1e9


def encoder_gflops(model, size: int) -> float:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.encoder(torch.zeros(1, 3, size, size))
    return counter.get_total_flops() / 1e9


def median_ms(fn, runs: int) -> float:
    fn()  # warm-up: first runs pay for allocation and kernel selection
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--encoder", default=DEFAULT_ARGS["encoder"])
    ap.add_argument("--sizes", type=int, nargs="+", default=[320, 512])
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    from bgremove.inference.backends import import_onnxruntime

    ort = import_onnxruntime()

    model_args = {**DEFAULT_ARGS, "encoder": args.encoder}
    model = build_model(model_args).eval()
    params = sum(p.numel() for p in model.parameters()) / 1e6
    enc = sum(p.numel() for p in model.encoder.parameters()) / 1e6
    print(f"config {model_args}\nparameters: {params:.2f} M (encoder {enc:.2f} M)")
    with tempfile.TemporaryDirectory() as tmp:
        pth, onnx_path = Path(tmp) / "m.pth", Path(tmp) / "m.onnx"
        save_checkpoint(pth, model, model_args, DEFAULT_PREPROCESSING)
        export_onnx(pth, onnx_path)
        sessions = {}
        for threads in (1, 0):
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            sessions[threads] = ort.InferenceSession(str(onnx_path), opts)
        print("| size | GFLOPs (encoder) | onnx 1 thread ms | onnx all cores ms | torch ms |")
        print("|---|---|---|---|---|")
        for size in args.sizes:
            x = np.random.default_rng(0).normal(size=(1, 3, size, size)).astype(np.float32)
            ms = {t: median_ms(lambda s=s, x=x: s.run(None, {"input": x}), args.runs)
                  for t, s in sessions.items()}
            with torch.inference_mode():
                tx = torch.from_numpy(x).contiguous(memory_format=torch.channels_last)
                torch_ms = median_ms(lambda tx=tx: model(tx), args.runs)
            print(f"| {size} | {gflops(model, size):.2f} ({encoder_gflops(model, size):.2f}) "
                  f"| {ms[1]:.1f} | {ms[0]:.1f} | {torch_ms:.1f} |")


if __name__ == "__main__":
    main()
