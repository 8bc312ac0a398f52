"""Both training stages end to end: cache, stage 1, stage 2 (from stage 1's best), ONNX export.

    python -m train.pipeline                     # ../shared/data, runs/stage1 + runs/stage2
    python -m train.pipeline --resume            # continue after a kill (a finished stage is kept)
    python -m train.pipeline -- --device cuda --batch-size 32   # extra keys for both stages

Each stage is `python -m train.train --config train/configs/stageN.py` with the same overrides,
run in its own process so a stage's worker processes and memory are gone before the next starts.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

STAGES = ("stage1", "stage2")
CONFIGS = Path(__file__).parent / "configs"


def run(cmd: list[str], dry_run: bool = False) -> None:
    print("+ " + " ".join(cmd), flush=True)
    if dry_run:
        return
    code = subprocess.call(cmd)
    if code != 0:
        raise SystemExit(code)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m train.pipeline", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-root", default="../shared/data")
    p.add_argument("--out", default="runs", help="stage folders go in OUT/stage1, OUT/stage2")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--no-cache", action="store_true", help="skip prepare_cache")
    p.add_argument("--extra-sets", default="", help="teacher-labelled folders for stage 1")
    p.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    p.add_argument("extra", nargs=argparse.REMAINDER, help="after --: more train.train options")
    args = p.parse_args(argv)
    extra = [a for a in args.extra if a != "--"]
    py = sys.executable
    common = ["--data-root", args.data_root, *(["--resume"] if args.resume else []), *extra]
    if args.no_cache:
        common += ["--cache-dir", ""]
    for stage in STAGES:
        config = str(CONFIGS / f"{stage}.py")
        if not args.no_cache:
            run([py, "-m", "train.prepare_cache", "--config", config,
                 "--data-root", args.data_root], args.dry_run)
        cmd = [py, "-m", "train.train", "--config", config, "--out", f"{args.out}/{stage}",
               *common]
        if stage == "stage1" and args.extra_sets:
            cmd += ["--extra-sets", args.extra_sets]
        if stage == "stage2":
            cmd += ["--init", f"{args.out}/stage1/best.pth"]
        run(cmd, args.dry_run)
    print(f"done: {args.out}/stage2/best.pth and best.onnx", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
