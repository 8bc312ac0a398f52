"""What the mask cache saves: re-rendering a folder after only `--jpeg-quality` changed, from the
cache (no network pass) against the same re-render with the cache off (the network runs), and
what the cache costs: its size on disk and the time a first run spends writing it.

    python bench/bench_rerender.py [--src DIR] [--n 60] [--repeat 3] [--workers N]

Default --src: ../shared/data/val/ccp/images (catalog-like photos); the repository's samples/
where that is absent. Both output folders get the same options (cutout PNG + white JPEG
composite, bundled weights); runs alternate A (cache) / B (--no-mask-cache) and the medians are
printed, with a check that A's and B's outputs are byte-identical after every pair. Run it with
the machine otherwise idle: timings are wall clock of whole `bgremove run`s (worker start-up
and, for B, model loading included, as a cron user sees them).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bgremove.batch.driver import run  # noqa: E402
from bgremove.batch.maskcache import FOLDER  # noqa: E402
from bgremove.batch.options import RunOptions  # noqa: E402
from bgremove.imaging.formats import is_image_name  # noqa: E402
from bgremove.imaging.outputs import OutputOptions  # noqa: E402


def _inputs(src: Path, n: int, dest: Path) -> int:
    names = sorted(p for p in src.iterdir() if p.is_file() and is_image_name(p.name))[:n]
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for p in names:
        shutil.copy2(p, dest / p.name)
    return len(names)


def _run(src: Path, out: Path, quality: int, cache: bool, workers: int | None,
         force: bool = False):
    options = RunOptions(src, out, output=OutputOptions(bg_color="white", jpeg_quality=quality),
                         mask_cache=cache, workers=workers, progress="quiet", force=force)
    start = time.perf_counter()
    summary = run(options)
    seconds = time.perf_counter() - start
    assert summary.failed == 0 and summary.exit_code == 0, summary
    return seconds, summary


def _outputs(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and not any(x.startswith(".") for x in p.relative_to(out).parts)}


def _size(folder: Path, pattern: str = "*") -> int:
    return sum(p.stat().st_size for p in folder.rglob(pattern) if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = ROOT.parent / "shared/data/val/ccp/images"
    ap.add_argument("--src", type=Path, default=default if default.is_dir() else ROOT / "samples")
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--scratch", type=Path, default=ROOT / "runs/bench_rerender")
    args = ap.parse_args()
    src, a, b = args.scratch / "in", args.scratch / "cache", args.scratch / "nocache"
    n = _inputs(args.src, args.n, src)
    for out in (a, b):
        shutil.rmtree(out, ignore_errors=True)
    pixels = sum(_megapixels(p) for p in src.iterdir())
    print(f"{n} images from {args.src} ({pixels:.1f} MP in all), workers: "
          f"{args.workers or 'default'}")
    first = {"cache": [], "nocache": []}
    for i in range(args.repeat):  # full runs with the network: the cost of writing the cache
        first["cache"].append(_run(src, a, 95, True, args.workers, force=i > 0)[0])
        first["nocache"].append(_run(src, b, 95, False, args.workers, force=i > 0)[0])
    times = {"cache": [], "nocache": []}
    for i in range(args.repeat):  # re-renders: only the JPEG quality changes
        quality = 90 - i
        seconds, summary = _run(src, a, quality, True, args.workers)
        assert summary.processed == n and summary.reused == n, summary
        times["cache"].append(seconds)
        seconds, summary = _run(src, b, quality, False, args.workers)
        assert summary.processed == n and summary.reused == 0, summary
        times["nocache"].append(seconds)
        assert _outputs(a) == _outputs(b), "cache and network re-renders differ"
    med = {k: statistics.median(v) for k, v in times.items()}
    fmed = {k: statistics.median(v) for k, v in first.items()}
    print(f"first run (network), median of {args.repeat}: {fmed['cache']:.2f} s writing the "
          f"cache, {fmed['nocache']:.2f} s without ({fmed['cache'] / fmed['nocache']:.3f}x)")
    print(f"re-render, only --jpeg-quality changed, median of {args.repeat}: "
          f"{med['cache']:.2f} s from the cache (0 network passes), {med['nocache']:.2f} s with "
          f"the network; {n / med['cache']:.2f} vs {n / med['nocache']:.2f} images/s, "
          f"{med['nocache'] / med['cache']:.2f}x faster, {med['nocache'] - med['cache']:.2f} s "
          f"saved ({1000 * (med['nocache'] - med['cache']) / n:.0f} ms per image)")
    print(f"  all runs (s): cache {[round(t, 2) for t in times['cache']]}, network "
          f"{[round(t, 2) for t in times['nocache']]}; outputs byte-identical in every pair")
    cache_bytes = _size(a / FOLDER)
    cutouts = sum(len(v) for k, v in _outputs(a).items() if k.endswith(".png"))
    inputs = _size(src)
    print(f"mask cache on disk: {cache_bytes / 1e6:.2f} MB for {n} images, "
          f"{cache_bytes / n / 1e3:.1f} KB per image, {cache_bytes / pixels / 1e3:.1f} KB per "
          f"megapixel; {cache_bytes / inputs:.2f}x the inputs, {cache_bytes / cutouts:.2f}x the "
          "PNG cutouts")


def _megapixels(path: Path) -> float:
    from PIL import Image

    with Image.open(path) as img:
        return img.width * img.height / 1e6


if __name__ == "__main__":
    main()
