"""Local backend vs Ray backend on the same real photos: images/s, Ray start-up cost, identity.

    python bench/bench_ray.py --weights model.onnx            # 100 photos, all local cores
    python bench/bench_ray.py --weights model.onnx --n 40 --cpus 2

The input folder holds real photos from ../shared/data/val (DAVIS frames and CCP street photos,
half each, at their own sizes), hard-linked under cache/bench/ray<N>/. Both backends use the same
number of CPU processes (--cpus) with one intra-op thread each. The Ray instance is local
(`ray.init(num_cpus=...)`), started and timed here, so "Ray start-up" is what a one-machine user
pays; on an existing cluster it is the time to connect instead. Every output file of the two runs
is compared byte for byte.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "val"
CACHE = ROOT / "cache" / "bench"


def build_folder(n: int) -> Path:
    """cache/bench/ray<N>/: n photos, alternating DAVIS and CCP."""
    lists = [sorted((DATA / s / "images").glob("*.jpg")) for s in ("davis", "ccp")]
    if not all(lists):
        sys.exit(f"no photos found under {DATA}: ../shared/data not found")
    folder = CACHE / f"ray{n}"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        src = lists[i % 2][(i // 2) % len(lists[i % 2])]
        dst = folder / f"{i:04d}_{src.name}"
        if not dst.exists():
            try:
                os.link(src, dst)
            except OSError:
                shutil.copyfile(src, dst)
    return folder


def _outputs(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}


def _run(in_dir: Path, out_dir: Path, weights: str, cpus: int, backend: str):
    from bgremove.batch.driver import run
    from bgremove.batch.options import RunOptions
    from bgremove.imaging.outputs import OutputOptions

    return run(RunOptions(in_dir, out_dir, output=OutputOptions(mask=True), weights=weights,
                          device="cpu", workers=cpus, threads=1, progress="quiet",
                          backend=backend))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default=None, help="ONNX/.pth weights (default: bundled)")
    ap.add_argument("--n", type=int, default=100, help="how many photos")
    ap.add_argument("--cpus", type=int, default=os.cpu_count() or 1, help="worker processes")
    ap.add_argument("--repeat", type=int, default=1, help="runs per backend, interleaved")
    args = ap.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    in_dir = build_folder(args.n)
    t0 = time.perf_counter()
    ray.init(num_cpus=args.cpus, include_dashboard=False, logging_level="WARNING")
    init_s = time.perf_counter() - t0
    rates: dict[str, list[float]] = {"local": [], "ray": []}
    try:
        with tempfile.TemporaryDirectory(prefix="bench_ray_") as tmp:
            for r in range(args.repeat):
                # Interleaved, alternating which goes first: the machine's load drifts.
                for backend in ("local", "ray") if r % 2 == 0 else ("ray", "local"):
                    out = Path(tmp) / f"{backend}{r}"
                    s = _run(in_dir, out, args.weights, args.cpus, backend)
                    assert s.processed == args.n, s
                    rates[backend].append(s.images_per_second)
            t1 = time.perf_counter()
            rerun = _run(in_dir, Path(tmp) / "ray0", args.weights, args.cpus, "ray")
            rerun_s = time.perf_counter() - t1
            # A run of 2 photos: what every Ray run pays before its first result (actor
            # processes started, one model loaded in each), on an already running Ray.
            tiny = _run(build_folder(2), Path(tmp) / "tiny", args.weights, args.cpus, "ray")
            a, b = _outputs(Path(tmp) / "local0"), _outputs(Path(tmp) / "ray0")
            same = sum(a[k] == b.get(k) for k in a)
    finally:
        ray.shutdown()
    print(f"photos: {args.n} ({in_dir}), {args.cpus} CPU processes x 1 thread, "
          f"ray {ray.__version__}, {args.repeat} run(s) each")
    for backend, values in rates.items():
        runs = ", ".join(f"{v:.2f}" for v in values)
        print(f"{backend:6s} backend: median {statistics.median(values):.2f} images/s ({runs})")
    first = args.n / (args.n / rates["ray"][0] + init_s)
    print(f"ray start-up:  ray.init {init_s:.1f} s (local instance); first Ray run end to end "
          f"with it {first:.2f} images/s")
    print(f"ray per run:   {tiny.elapsed_s:.1f} s for a run of 2 photos (actor start + model "
          "load, paid by every run and every wave of 50,000 images)")
    print(f"ray re-run:    {rerun.skipped} skipped, {rerun.processed} processed, {rerun_s:.2f} s")
    print(f"identical:     {same}/{len(a)} output files byte-identical "
          f"({'OK' if same == len(a) == len(b) else 'DIFFERENT'})")


if __name__ == "__main__":
    main()
