"""`kill -9` a running `bgremove run` again and again, then let it finish: nothing lost, nothing
corrupt, no process left behind.

    python bench/bench_killloop.py                    # 25 kills, bundled weights, 2 workers
    python bench/bench_killloop.py --cycles 40 --seed 3

The input folder links the photos of ../shared/data/val/davis and val/ccp (239 files, nothing is
copied). A reference run writes every output once, undisturbed. Then, each cycle, the CLI is
started in its own session and killed with SIGKILL (the driver only, as the OOM killer or
`kill -9` would): one time in five during start-up, otherwise once 1-16 more output files exist,
so kills land while images are written whatever the machine's speed; the session is then
watched for processes that outlive it. After
the last kill a run goes to the end. Printed: kills that landed mid-run, processes that survived
their driver (after 5 s), then for the final state: outputs missing, outputs that differ in any
byte from the reference, temporary files left, and whether a further run has nothing to do.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "val"


def _inputs(folder: Path) -> int:
    files = sorted(p for s in ("davis", "ccp") for p in (DATA / s / "images").glob("*.jpg"))
    if not files:
        sys.exit(f"no photos under {DATA}: ../shared/data not found")
    folder.mkdir(parents=True)
    for p in files:
        (folder / f"{p.parent.parent.name}_{p.name}").symlink_to(p)
    return len(files)


def _cli(in_dir: Path, out_dir: Path, workers: int) -> list[str]:
    return [sys.executable, "-m", "bgremove", "run", str(in_dir), str(out_dir), "--mask",
            "--workers", str(workers), "--progress", "quiet"]


def _session(sid: int) -> list[int]:
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid and fields[0] != "Z":
                alive.append(int(entry.name))
    return alive


def _count(root: Path) -> int:
    return sum(1 for p in root.rglob("*.png") if not p.name.startswith(".")) if root.exists() else 0


def _wait_to_kill(rng: random.Random, out: Path, proc: subprocess.Popen) -> None:
    """One kill in five lands at a random moment of the first 4 s (start-up, model loading);
    the others once 1-16 more output files exist: while images are being written, whatever the
    machine's speed."""
    if rng.random() < 0.2:
        time.sleep(rng.uniform(0.5, 4.0))
        return
    target = _count(out) + rng.randint(1, 16)
    deadline = time.monotonic() + 120
    while _count(out) < target and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)


def _outputs(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*.png")
            if not p.name.startswith(".")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=25)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=15)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="bgremove-kill-") as tmp:
        tmp = Path(tmp)
        n = _inputs(tmp / "in")
        subprocess.run(_cli(tmp / "in", tmp / "ref", args.workers), check=True, cwd=ROOT)
        reference = _outputs(tmp / "ref")
        print(f"{n} photos; reference run wrote {len(reference)} outputs")
        mid_run, survivors = 0, 0
        for cycle in range(args.cycles):
            proc = subprocess.Popen(_cli(tmp / "in", tmp / "out", args.workers), cwd=ROOT,
                                    start_new_session=True, stderr=subprocess.DEVNULL)
            _wait_to_kill(rng, tmp / "out", proc)
            running = proc.poll() is None
            mid_run += running
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            deadline = time.monotonic() + 5
            while _session(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            left = _session(proc.pid)
            survivors += len(left)
            for pid in left:  # do not let one cycle's leftovers skew the next
                os.kill(pid, signal.SIGKILL)
            done = len(_outputs(tmp / "out")) // 2
            print(f"cycle {cycle + 1:2d}: killed {'mid-run' if running else 'after the end'}, "
                  f"{len(left)} processes outlived it, {done}/{n} images have outputs")
        final = subprocess.run(_cli(tmp / "in", tmp / "out", args.workers), cwd=ROOT)
        outputs = _outputs(tmp / "out")
        missing = sorted(set(reference) - set(outputs))
        differ = sorted(k for k in reference if k in outputs and outputs[k] != reference[k])
        temps = [p for p in (tmp / "out").rglob(".*.tmp")]
        again = subprocess.run(_cli(tmp / "in", tmp / "out", args.workers) + ["--progress", "log"],
                               cwd=ROOT, capture_output=True, text=True)
        print(f"kills: {args.cycles} ({mid_run} landed mid-run); processes that outlived their "
              f"driver: {survivors}")
        print(f"after the final run (exit code {final.returncode}): {len(missing)} outputs "
              f"missing, {len(differ)} differing from the reference, {len(temps)} temporary "
              f"files left; a further run: {again.stderr.strip().splitlines()[-1]}")


if __name__ == "__main__":
    main()
