"""What `bgremove run --mirror` costs: a folder of scenes against a folder of studio shots.

    python bench/bench_mirror.py --n 100 --repeat 3

The mirror for busy scenes (bgremove/inference/mirror.py) adds one network call for each photo
whose backdrop is busy. Two folders, each run with and without `--mirror` in turn (medians of
`--repeat` runs, as bench_run.py times them): bench_run.py's benchmark folder (CCP street photos
and DAVIS frames at catalog sizes: nearly every photo a busy scene) and as many studio shots
(val/viton-cloth's garments on white, brought to 1600x1200 the same way), where the mirror
should cost nothing but reading the backdrop.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_run  # noqa: E402


def studio_folder(n: int) -> Path:
    """cache/bench/studio<N>/: N val/viton-cloth shots at 1600x1200 (cover, centre-crop)."""
    folder = bench_run.CACHE / f"studio{n}"
    folder.mkdir(parents=True, exist_ok=True)
    sources = sorted((bench_run.DATA / "viton-cloth" / "images").glob("*.jpg"))
    if not sources:
        sys.exit(f"no photos found under {bench_run.DATA}: ../shared/data not found")
    for i in range(n):
        dst = folder / f"studio{i:05d}.jpg"
        if not dst.exists():
            bench_run._catalog_photo(sources[i * len(sources) // n], dst, (1600, 1200))
    return folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100, help="photos per folder")
    ap.add_argument("--repeat", type=int, default=3, help="runs per setting; medians are quoted")
    args = ap.parse_args()
    bench_run.CACHE.mkdir(parents=True, exist_ok=True)
    plain = lambda f, o: bench_run._bgremove_cmd(f, o, 0)  # noqa: E731
    if plain(Path("in"), Path("out"))[1:2] != ["run"]:
        sys.exit("the bgremove CLI is needed (pip install -e .): --mirror is one of its options")
    mirror = lambda f, o: [*plain(f, o), "--mirror"]  # noqa: E731
    for label, folder in (("scenes", bench_run.build_folder(args.n)),
                          ("studio", studio_folder(args.n))):
        print(f"{label}: {args.n} photos in {folder}", flush=True)
        base, with_mirror = bench_run.run_tools(
            [("bgremove run", plain, None), ("bgremove run --mirror", mirror, None)],
            folder, args.n, args.repeat, alternate=True)
        if base and with_mirror:
            print(f"  --mirror takes {with_mirror['s'] / base['s']:.2f}x the time and "
                  f"{with_mirror['cpu'] / base['cpu']:.2f}x the CPU time on {label}", flush=True)


if __name__ == "__main__":
    main()
