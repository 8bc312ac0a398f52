"""Stopping a run with signals (in a subprocess, as cron or a terminal would) and resuming."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bgremove.pipeline import run
from bgremove.runopts import RunOptions
from bgremove.testing import slow_fake_backend

pytestmark = pytest.mark.slow

_SCRIPT = """
import json, sys
from bgremove.pipeline import run
from bgremove.runopts import RunOptions
from bgremove.testing import slow_fake_backend
s = run(RunOptions(sys.argv[1], sys.argv[2], workers=int(sys.argv[3]), progress="log",
                   backend_factory=slow_fake_backend))
print(json.dumps({"processed": s.processed, "failed": s.failed}), flush=True)
sys.exit(s.exit_code)
"""


def _folder(root: Path, n: int) -> None:
    root.mkdir(parents=True)
    for i in range(n):
        img = np.full((60, 80, 3), 255, np.uint8)
        img[15:45, 20:60] = (10 * i % 255, 100, 200)
        Image.fromarray(img).save(root / f"img{i:02d}.png")


def _start(tmp_path: Path, n: int, workers: int) -> subprocess.Popen:
    _folder(tmp_path / "in", n)
    proc = subprocess.Popen([sys.executable, "-c", _SCRIPT, str(tmp_path / "in"),
                             str(tmp_path / "out"), str(workers)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while not list((tmp_path / "out").glob("*.png")) and time.monotonic() < deadline:
        time.sleep(0.05)
    return proc


@pytest.mark.parametrize("workers,sig", [(1, signal.SIGTERM), (2, signal.SIGTERM),
                                         (2, signal.SIGINT)])
def test_signal_stops_cleanly_and_next_run_resumes(tmp_path, workers, sig):
    n = 16
    proc = _start(tmp_path, n, workers)
    # SIGTERM as cron/systemd send it (to the main process); SIGINT as a terminal's Ctrl-C
    # sends it, to the whole process group, workers included.
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, stderr
    assert f"interrupted by {sig.name}" in stderr
    assert "stopping after the images in progress" in stderr
    counts = json.loads(stdout)
    assert counts["failed"] == 0  # in-flight images finished (workers ignore Ctrl-C)
    done = counts["processed"]
    assert 0 < done < n
    assert not list((tmp_path / "out").glob(".*.tmp"))  # no half-written file left behind
    second = run(RunOptions(tmp_path / "in", tmp_path / "out",
                            backend_factory=slow_fake_backend, workers=2, progress="quiet"))
    assert (second.processed, second.skipped) == (n - done, done)


def test_second_signal_stops_at_once(tmp_path):
    n = 40
    proc = _start(tmp_path, n, 2)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    done = json.loads(stdout)["processed"]
    assert not list((tmp_path / "out").glob(".*.tmp"))
    second = run(RunOptions(tmp_path / "in", tmp_path / "out",
                            backend_factory=slow_fake_backend, workers=2, progress="quiet"))
    assert second.processed + second.skipped == n and second.skipped == done
