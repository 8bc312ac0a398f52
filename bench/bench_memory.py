"""Peak memory of one worker per megapixel: what `--max-pixels` lets a single image cost.

    python bench/bench_memory.py                 # 2, 6, 12, 24, 48 MP photos, bundled weights
    python bench/bench_memory.py --mp 12 100     # chosen sizes (100 MP needs ~2 GB free)
    python bench/bench_memory.py --png           # the same photos as PNG inputs (PIL decodes)
    python bench/bench_memory.py --padded-jpeg   # a 32 KB JPEG padded to 1 GB (sparse file)

Each size runs in a fresh process that loads the model (as a worker does), then processes one
photo of that size end to end with worker.process_one (read, mask, PNG cutout, write) and reports
its peak RSS (getrusage) beside the RSS after the model was loaded. The photo is a real DAVIS
frame scaled up, saved as a JPEG q90, so decoding, the tiled mask and PNG encoding all see
real content. The fit (least squares over the sizes) gives MiB per megapixel and the fixed cost.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "val" / "davis" / "images"

_CHILD = r"""
import json, resource, sys
from bgremove.imaging.outputs import OutputOptions
from bgremove.batch.worker import Task, WorkerConfig, get_remover, process_one
config = WorkerConfig(OutputOptions(), threads=1, max_pixels=10**10)
get_remover(config)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
src, out = sys.argv[1], sys.argv[2]
result = process_one(config, Task(src, "x", 0, 0, {"cutout": out}, ["x.png"]))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"status": result.status, "error": result.error, "model_mib": base,
                  "peak_mib": peak}))
"""


def _photo(mp: float, folder: Path, ext: str = "jpg") -> Path:
    import cv2

    frames = sorted(DATA.glob("*.jpg"))
    if not frames:
        sys.exit(f"no DAVIS frames under {DATA}: ../shared/data not found")
    img = cv2.imread(str(frames[len(frames) // 2]))
    w = round((mp * 1e6 * 4 / 3) ** 0.5)
    h = round(w * 3 / 4)
    path = folder / f"{mp:g}mp.{ext}"
    params = [cv2.IMWRITE_JPEG_QUALITY, 90] if ext == "jpg" else [cv2.IMWRITE_PNG_COMPRESSION, 1]
    cv2.imwrite(str(path), cv2.resize(img, (w, h), interpolation=cv2.INTER_CUBIC), params)
    return path


def _measure(src: Path, folder: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, str(src), str(folder / "out.png")],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    slope = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)
    return slope, my - slope * mx


def _padded(folder: Path) -> None:
    import cv2

    src = _photo(0.3, folder)
    data = cv2.imencode(".jpg", cv2.imread(str(src)), [cv2.IMWRITE_JPEG_QUALITY, 40])[1].tobytes()
    path = folder / "padded.jpg"
    with open(path, "wb") as f:
        f.write(data)
        f.truncate(1 << 30)  # sparse: 1 GB of zeros that take no disk space
    r = _measure(path, folder)
    print(f"{len(data) / 1024:.0f} KB JPEG padded to 1 GB: {r['status']}, peak RSS "
          f"{r['peak_mib']:.0f} MiB (model loaded: {r['model_mib']:.0f} MiB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mp", type=float, nargs="+", default=[2, 6, 12, 24, 48])
    ap.add_argument("--padded-jpeg", action="store_true")
    ap.add_argument("--png", action="store_true", help="PNG inputs instead of JPEG")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bgremove-mem-") as tmp:
        folder = Path(tmp)
        if args.padded_jpeg:
            _padded(folder)
            return
        points = []
        print(f"{'MP':>6} {'model MiB':>10} {'peak MiB':>10} {'image MiB':>10}")
        for mp in args.mp:
            r = _measure(_photo(mp, folder, "png" if args.png else "jpg"), folder)
            if r["status"] != "ok":
                print(f"{mp:6g} failed: {r['error']}")
                continue
            image = r["peak_mib"] - r["model_mib"]
            points.append((mp, r["peak_mib"]))
            print(f"{mp:6g} {r['model_mib']:10.0f} {r['peak_mib']:10.0f} {image:10.0f}")
        if len(points) > 1:
            slope, fixed = _fit(points)
            print(f"fit: peak RSS = {fixed:.0f} MiB + {slope:.1f} MiB per megapixel")


if __name__ == "__main__":
    main()
