"""Seconds per photo of the teacher models that label training data (train/label_teacher.py).

    python bench/bench_teachers.py --isnet cache/teachers/isnet.onnx --isnet-fp16 isnet-fp16.onnx \\
        --u2net .peers/u2net/u2net.onnx [--threads 1] [--runs 3]

One network call each (onnxruntime, CPU), alternated run by run, medians printed: ISNet fp32 at
1024, 768, 640 and 512 px (train/teachers.py makes any multiple of 64 possible), ISNet as
shipped (fp16, 1024 px) and U-2-Net at its 320 px. What each costs in label quality is in
weights/MODEL_CARD.md (measured on the val sets with the same files).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def session(path: str, threads: int):
    from bgremove.inference.backends import import_onnxruntime

    ort = import_onnxruntime()

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--isnet", required=True, help="fp32 file from train/teachers.py")
    ap.add_argument("--isnet-fp16", help="the joined fp16 file as shipped (optional)")
    ap.add_argument("--u2net", help="rembg's u2net.onnx (optional)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    cases = [(f"ISNet fp32 {s}", args.isnet, s) for s in (1024, 768, 640, 512)]
    if args.isnet_fp16:
        cases.append(("ISNet fp16 1024 (as shipped)", args.isnet_fp16, 1024))
    if args.u2net:
        cases.append(("U-2-Net 320", args.u2net, 320))
    sessions = {name: session(path, args.threads) for name, path, _ in cases}
    rng = np.random.default_rng(0)
    times: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    for run in range(args.runs + 1):  # the first round warms up and is not counted
        for name, _, size in cases:
            s = sessions[name]
            x = rng.random((1, 3, size, size), dtype=np.float32) - 0.5
            t0 = time.perf_counter()
            s.run(None, {s.get_inputs()[0].name: x})
            if run:
                times[name].append(time.perf_counter() - t0)
    print(f"{args.threads} thread(s), median of {args.runs}")
    for name, ts in times.items():
        print(f"  {name:30s} {statistics.median(ts):6.2f} s")


if __name__ == "__main__":
    main()
