"""Ctrl-C and systemd's SIGTERM, sent to the whole process group of a running `bgremove run`.

    python bench/bench_signals.py                 # 20 x SIGINT, 20 x SIGTERM, 2 workers
    python bench/bench_signals.py --trials 50

Each trial starts a run of 40 small images with a stand-in model that takes 0.15 s per image
(bgremove.inference.testing.slow_fake_backend), waits until 3 images are written, and signals the process
group, as a terminal's Ctrl-C or `systemctl stop` does. A trial is right when the run stops
(exit 130 or 143, the "stopping" message, some images left for the next run) and fails none of
the images it had in flight. Printed: right trials per signal, and what the wrong ones did.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
_CHILD = """
import json, sys
from bgremove.batch.driver import run
from bgremove.batch.options import RunOptions
from bgremove.inference.testing import slow_fake_backend
s = run(RunOptions(sys.argv[1], sys.argv[2], workers=2, progress="log",
                   backend_factory=slow_fake_backend))
print(json.dumps({"processed": s.processed, "failed": s.failed}), flush=True)
sys.exit(s.exit_code)
"""


def _trial(folder: Path, out: Path, sig: signal.Signals) -> str:
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(folder), str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while len(list(out.glob("*.png"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, sig)
    stdout, stderr = proc.communicate(timeout=120)
    counts = json.loads(stdout.strip().splitlines()[-1]) if stdout.strip() else {}
    if proc.returncode != 128 + sig:
        return f"exit {proc.returncode}"
    if counts.get("failed"):
        return f"{counts['failed']} in-flight images failed"
    if "stopping" not in stderr:
        return "no stopping message"
    return "right"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bgremove-signals-") as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        for i in range(40):
            img = np.full((60, 80, 3), 255, np.uint8)
            img[15:45, 20:60] = (6 * i, 100, 200)
            Image.fromarray(img).save(folder / f"img{i:02d}.png")
        for sig in (signal.SIGINT, signal.SIGTERM):
            outcomes = Counter(_trial(folder, Path(tmp) / f"out{sig.name}{k}", sig)
                               for k in range(args.trials))
            wrong = ", ".join(f"{n} x {what}" for what, n in outcomes.items() if what != "right")
            print(f"{sig.name} to the process group: {outcomes['right']}/{args.trials} stopped "
                  f"right" + (f" (wrong: {wrong})" if wrong else ""))


if __name__ == "__main__":
    main()
