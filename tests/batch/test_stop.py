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

from bgremove.batch.driver import run
from bgremove.batch.options import RunOptions
from bgremove.inference.testing import slow_fake_backend

pytestmark = pytest.mark.slow

_SCRIPT = """
import json, sys
from bgremove.batch.driver import run
from bgremove.batch.options import RunOptions
from bgremove.inference.testing import slow_fake_backend
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


# 6. A Ctrl-C that lands while workers are being started is not lost.
def test_ctrl_c_during_worker_start_stops_the_run(tmp_path, monkeypatch):
    from bgremove.batch import pool

    real = pool.WorkerPool
    hits = []

    class Ctrl_C_On_Submit:
        def __init__(self, executor):
            self.executor = executor

        def submit(self, *args, **kw):
            if len(hits) == 2:  # the third image: Ctrl-C arrives as it is handed out
                os.kill(os.getpid(), signal.SIGINT)
            hits.append(1)
            return self.executor.submit(*args, **kw)

        def __getattr__(self, name):
            return getattr(self.executor, name)

    monkeypatch.setattr(pool, "WorkerPool", lambda *a, **kw: Ctrl_C_On_Submit(real(*a, **kw)))
    _folder(tmp_path / "in", 12)
    summary = run(RunOptions(tmp_path / "in", tmp_path / "out", workers=2, progress="quiet",
                             backend_factory=slow_fake_backend))
    assert summary.interrupted == signal.SIGINT and summary.exit_code == 130
    assert summary.failed == 0 and 0 < summary.processed < 12


def _wait_for_outputs(out: Path, n: int = 1, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(list(out.glob("*.png"))) < n and time.monotonic() < deadline:
        time.sleep(0.05)


# 7. SIGTERM to the whole process group (systemd): in-flight images finish, none fails.
def test_sigterm_to_the_process_group_fails_nothing(tmp_path):
    proc = _start(tmp_path, 40, 2)
    _wait_for_outputs(tmp_path / "out", 3)
    os.killpg(proc.pid, signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    counts = json.loads(stdout)
    assert counts["failed"] == 0, stderr
    assert "worker process died" not in stderr
    assert "stopping after the images in progress" in stderr
    assert 0 < counts["processed"] < 40


def _session_pids(sid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid and fields[0] != "Z":  # session id; zombies are gone
                pids.append(int(entry.name))
    return pids


# 8. kill -9 of the driver: its workers die with it.
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_kill_9_of_the_driver_leaves_no_worker_behind(tmp_path):
    proc = _start(tmp_path, 40, 2)
    try:
        _wait_for_outputs(tmp_path / "out", 2)
        assert len(_session_pids(proc.pid)) >= 3  # the driver and its 2 workers
        proc.kill()
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _session_pids(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _session_pids(proc.pid) == []
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_images_a_stop_cut_short_are_stopped_not_failed():
    # systemd's final SIGKILL after a SIGTERM: the dead workers' images were stopped, not broken.
    from concurrent.futures import Future

    from bgremove.batch.local import _pool_result
    from bgremove.batch.pool import BrokenProcessPool
    from bgremove.batch.worker import Task

    fut = Future()
    fut.set_exception(BrokenProcessPool("A process in the process pool was terminated abruptly"))
    task = Task("/in/a.jpg", "a.jpg", 1, 1, {}, [])
    stopped = _pool_result(fut, task, signal.SIGTERM, "{SIGKILL(-9)}")
    assert stopped.status == "stopped" and "SIGTERM" in stopped.error
    died = _pool_result(fut, task, None, "{SIGKILL(-9)}")  # no stop asked: say, out of memory
    assert died.status == "failed"
    assert "worker process died with exit code {SIGKILL(-9)}" in died.error
