"""Where one image's milliseconds go in `bgremove run`: a per-stage profile of the worker's path.

    python bench/profile_image.py                    # 1600x1200 and 4000x3000 bench photos
    python bench/profile_image.py --n 20 --weights weights/bgremove-lite0.int8.onnx
    PYTHONPATH=../other-checkout python bench/profile_image.py   # the same for another version

The photos are bench_run.py's benchmark folder (CCP and DAVIS photos at catalog sizes). Each
image goes through the real worker function (bgremove.batch.worker.process_one, default outputs: a PNG
cutout written atomically) in this process, with one inference and one OpenCV thread as a run's
workers have, and a worker's heap settings (freed memory kept for the next image: heap.py);
the library functions it calls are wrapped with timers, so every stage is the code
a run executes. Times are CPU time of this process (time.process_time): on a shared machine that
is what the work costs, where wall time would add the neighbours' load. Each stage's median over
the images says what a typical photo costs; its mean is what a folder's throughput follows, and
the two part where a stage's cost has a long tail (decontamination grows with the share of soft
alpha: a few percent of most photos, half of a few).
Stages nest only where said ("mask upsampling" includes the tiled refinement's own resizes).

Below the table, the costs a run adds around the worker function, measured once: starting a
worker process with its model (wall time), a round trip of one image's task and result through
the process pool, and the manifest row plus report line the parent writes per image.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

# (stage, module, attribute): the library functions process_one reaches, looked up by name there.
STAGES = [
    ("decode + EXIF/ICC", "bgremove.imaging.read", "read_image"),
    ("shrink to model size", "bgremove.inference.tiling", "shrink"),
    ("canvas + normalise", "bgremove.inference.remover", "pad_for_model"),
    ("canvas + normalise", "bgremove.inference.remover", "resize_image"),
    ("canvas + normalise", "bgremove.inference.remover", "normalise"),
    ("network", None, "predict"),
    ("guided filter (edges)", "bgremove.inference.remover", "guided_filter"),
    ("mask upsampling (+ tiled refine)", "bgremove.inference.tiling", "resize_mask"),
    ("mask upsampling (+ tiled refine)", "bgremove.inference.tiling", "uncertainty_band"),
    ("mask upsampling (+ tiled refine)", "bgremove.inference.tiling", "predict_tiled"),
    ("edge sharpening", "bgremove.inference.remover", "sharpen"),
    ("coverage / flags", "bgremove.batch.worker", "mask_quality"),
    ("8-bit alpha", "bgremove.imaging.compose", "final_alpha"),
    ("RGBA canvas", "bgremove.imaging.compose", "_rgba"),
    ("decontamination", "bgremove.imaging.compose", "decontaminate"),
    ("PNG encode", "bgremove.imaging.compose", "encode_image"),
    ("write (atomic, fsync)", "bgremove.batch.storage", "write_output"),
]


class Timers:
    def __init__(self) -> None:
        self.acc: dict[str, float] = defaultdict(float)
        self.depth = 0

    def wrap(self, stage: str, fn):
        def timed(*args, **kwargs):
            if self.depth:  # nested inside another timed stage: counted there
                return fn(*args, **kwargs)
            self.depth += 1
            t = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.acc[stage] += time.process_time() - t
                self.depth -= 1

        return timed


def install(timers: Timers, remover) -> None:
    import importlib

    for stage, module, attr in STAGES:
        if module is None:
            remover.backend.predict = timers.wrap(stage, remover.backend.predict)
            continue
        mod = importlib.import_module(module)
        if hasattr(mod, attr):
            setattr(mod, attr, timers.wrap(stage, getattr(mod, attr)))


def profile(files: list[Path], weights: str | None, out: Path) -> dict[str, list[float]]:
    from bgremove.batch.heap import keep_freed_memory
    from bgremove.batch.worker import Task, WorkerConfig, get_remover, process_one
    from bgremove.imaging.outputs import OutputOptions

    config = WorkerConfig(OutputOptions(), weights=weights, threads=1)
    remover = get_remover(config)
    cv2.setNumThreads(1)
    keep_freed_memory()  # as worker_init does: without it every image pays page faults again
    timers = Timers()
    install(timers, remover)
    per_stage: dict[str, list[float]] = defaultdict(list)
    for i, path in enumerate([files[0], *files]):  # the first image again, as a warm-up
        task = Task(str(path), path.name, 0, 0, {"cutout": str(out / f"{path.stem}.png")},
                    [f"{path.stem}.png"])
        timers.acc.clear()
        t = time.process_time()
        result = process_one(config, task)
        total = time.process_time() - t
        if result.status != "ok":
            sys.exit(f"{path}: {result.error}")
        if i == 0:
            continue
        for stage, _, _ in STAGES:
            per_stage[stage].append(timers.acc.get(stage, 0.0) * 1000)
        per_stage["other (glue, copies, report)"].append(
            (total - sum(timers.acc.values())) * 1000)
        per_stage["total"].append(total * 1000)
    return per_stage


def run_costs(weights: str | None, photo: Path, out: Path) -> dict[str, float]:
    """Worker start-up with its model, one task's round trip, one manifest row + report line."""
    from bgremove.batch.manifest import Manifest
    from bgremove.batch.pool import WorkerPool
    from bgremove.batch.report import ImageResult, ReportWriter
    from bgremove.batch.worker import Task, WorkerConfig, get_remover
    from bgremove.imaging.outputs import OutputOptions

    config = WorkerConfig(OutputOptions(), weights=weights, threads=1)
    t = time.perf_counter()
    # Workers import what they run by name (never this script): library functions only. The
    # model loads in the initializer, as a run's first image loads it.
    executor = WorkerPool(1, get_remover, (config,))
    executor.submit(time.sleep, 0).result(timeout=300)
    start = time.perf_counter() - t
    task = Task(str(photo), photo.name, 1, 1, {"cutout": str(out / "x.png")}, ["x.png"])
    result = ImageResult(photo.name, "ok", ms=1.0, coverage=0.5, flags=[], outputs=["x.png"])
    trips = []
    for _ in range(20):
        t = time.perf_counter()
        executor.submit(copy.copy, (config, task, result)).result()  # there and back
        trips.append(time.perf_counter() - t)
    executor.kill()
    with Manifest(out) as manifest:
        report = ReportWriter(out / "report.jsonl")
        t = time.process_time()
        for i in range(200):
            manifest.record(f"p{i}.jpg", i, i, "key", ["x.png"])
            report.write(result)
        manifest.flush()
        per_row = (time.process_time() - t) / 200
        report.close()
    return {"worker start-up, model loaded (wall ms, once per worker)": start * 1000,
            "task + result round trip (wall ms per image)": statistics.median(trips) * 1000,
            "manifest row + report line (CPU ms per image)": per_row * 1000}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=12, help="images per size")
    ap.add_argument("--weights", default=None, help="weights file (default: the bundled)")
    ap.add_argument("--sizes", default="1600x1200,4000x3000")
    args = ap.parse_args()
    import bench_run

    folder = bench_run.build_folder(100)
    photos = sorted(folder.glob("*.jpg"))
    out = Path(tempfile.mkdtemp(prefix="profile-", dir=bench_run.CACHE))
    import bgremove

    print(f"bgremove {bgremove.__file__}, weights {args.weights or 'bundled'}; "
          "CPU ms per image (one thread): median, mean, 90th percentile")
    for size in args.sizes.split(","):
        w, h = (int(v) for v in size.split("x"))
        files = [p for p in photos if cv2.imread(str(p), cv2.IMREAD_REDUCED_GRAYSCALE_8)
                 .shape[::-1] == (w // 8, h // 8)][: args.n]
        stages = profile(files, args.weights, out)
        print(f"\n{size} ({len(files)} photos)  {'median':>7} {'mean':>7} {'p90':>7}")
        for stage, values in stages.items():
            p90 = statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]
            print(f"  {stage:<34} {statistics.median(values):7.1f} "
                  f"{statistics.mean(values):7.1f} {p90:7.1f}")
    print()
    for name, value in run_costs(args.weights, photos[0], out).items():
        print(f"  {name:<60} {value:7.1f}")


if __name__ == "__main__":
    main()
