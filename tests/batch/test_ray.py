"""`run(backend="ray")` on a local Ray instance: the same outputs, resume, reports and errors as
the local backend. The Ray tests skip when ray is not installed; the missing-extra test does not.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bgremove.batch.driver import run
from bgremove.batch.options import RunOptions
from bgremove.errors import ConfigError, MissingExtraError
from bgremove.imaging.outputs import OutputOptions
from bgremove.inference.testing import broken_backend, fake_backend


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    saved = os.environ.get("RAY_USAGE_STATS_ENABLED")
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"  # no network call from the tests
    ray.init(num_cpus=2, include_dashboard=False)
    yield ray
    ray.shutdown()
    if saved is None:
        os.environ.pop("RAY_USAGE_STATS_ENABLED", None)
    else:
        os.environ["RAY_USAGE_STATS_ENABLED"] = saved


def _product(path: Path, w: int, h: int, color) -> None:
    img = np.full((h, w, 3), 255, np.uint8)
    img[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = color
    img[h // 3, :] = (120, 120, 120)  # an edge that touches the border
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path, quality=92)


def _folder(root: Path, n: int) -> list[str]:
    rels = [f"p{i}.jpg" if i % 2 else f"sub/p{i}.png" for i in range(n)]
    for i, rel in enumerate(rels):
        _product(root / rel, 72 + 8 * i, 56 + 4 * i, (40 * i % 255, 90, 170))
    return rels


def _bad_files(root: Path) -> None:
    bad = root / "bad"
    bad.mkdir(parents=True)
    (bad / "empty.jpg").write_bytes(b"")
    (bad / "text.png").write_text("not a png")
    _product(bad / "whole.jpg", 64, 48, (200, 20, 20))
    data = (bad / "whole.jpg").read_bytes()
    (bad / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (bad / "whole.jpg").unlink()
    _product(bad / "huge.png", 400, 300, (10, 200, 10))


def _opts(tmp_path: Path, out: str, **kw) -> RunOptions:
    kw.setdefault("backend_factory", fake_backend)
    kw.setdefault("progress", "quiet")
    kw.setdefault("output", OutputOptions(mask=True))
    return RunOptions(tmp_path / "in", tmp_path / out, **kw)


def _outputs(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not any(x.startswith(".") for x in p.relative_to(root).parts)}


def _report(path: Path) -> dict[str, dict]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for line in lines:
        line.pop("ms")  # timings differ; everything else must not
    return {line["path"]: line for line in lines}


def _mtimes(root: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in root.rglob("*.png")}


def test_ray_matches_local_and_rerun_skips_everything(tmp_path, ray_local):
    rels = _folder(tmp_path / "in", 5)
    # A name that is not valid UTF-8 must cross Ray (JSON, Arrow) and come back intact.
    latin1 = os.fsdecode(b"caf\xe9.png")
    _product(tmp_path / "in" / latin1, 64, 48, (10, 120, 60))
    local = run(_opts(tmp_path, "local", workers=1, report=tmp_path / "local.jsonl"))
    first = run(_opts(tmp_path, "ray", backend="ray", report=tmp_path / "ray.jsonl"))
    assert (first.processed, first.failed, first.exit_code) == (6, 0, 0) == (
        local.processed, local.failed, local.exit_code)
    outputs = _outputs(tmp_path / "ray")
    assert len(outputs) == 12 and outputs == _outputs(tmp_path / "local")  # byte-identical
    assert os.fsdecode(b"caf\xe9.mask.png") in outputs
    assert _report(tmp_path / "ray.jsonl") == _report(tmp_path / "local.jsonl")
    before = _mtimes(tmp_path / "ray")
    again = run(_opts(tmp_path, "ray", backend="ray", report=tmp_path / "again.jsonl"))
    assert (again.processed, again.skipped, again.exit_code) == (0, 6, 0)
    assert {d["status"] for d in _report(tmp_path / "again.jsonl").values()} == {"skipped"}
    assert _mtimes(tmp_path / "ray") == before  # nothing rewritten
    os.utime(tmp_path / "in" / rels[1])  # touched: exactly this one is redone
    assert run(_opts(tmp_path, "ray", backend="ray")).processed == 1


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_ray_bad_files_reported_like_local(tmp_path, ray_local, device):
    # device=cuda with a test backend runs the GPU graph (decode tasks -> batching actor ->
    # write tasks) on CPU actors, as the local backend's GPU batcher runs on CPU in tests.
    _folder(tmp_path / "in", 3)
    _bad_files(tmp_path / "in")
    kw = dict(max_pixels=200 * 150, device=device, batch_size=2)
    local = run(_opts(tmp_path, "local", workers=1, report=tmp_path / "l.jsonl", **kw))
    ray = run(_opts(tmp_path, "ray", backend="ray", report=tmp_path / "r.jsonl", **kw))
    assert (ray.processed, ray.failed, ray.exit_code) == (3, 4, 1)
    assert (local.processed, local.failed, local.exit_code) == (3, 4, 1)
    lines = _report(tmp_path / "r.jsonl")
    assert lines == _report(tmp_path / "l.jsonl")
    assert "0 bytes" in lines["bad/empty.jpg"]["error"]
    assert "pixels" in lines["bad/huge.png"]["error"]
    assert _outputs(tmp_path / "ray") == _outputs(tmp_path / "local")
    assert not (tmp_path / "ray/bad").exists() or not list((tmp_path / "ray/bad").iterdir())


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_ray_rerenders_from_the_mask_cache(tmp_path, ray_local, device):
    # Only --jpeg-quality changes: every image comes from its cached mask ("mask": "cache" is
    # only ever set by worker.from_cache), with the bytes a fresh run writes.
    _folder(tmp_path / "in", 4)
    kw = dict(backend="ray", device=device, batch_size=2)
    first = run(_opts(tmp_path, "ray", output=OutputOptions(bg_color="white"), **kw))
    assert (first.processed, first.reused) == (4, 0)
    output = OutputOptions(bg_color="white", jpeg_quality=70)
    again = run(_opts(tmp_path, "ray", output=output, report=tmp_path / "r.jsonl", **kw))
    assert (again.processed, again.reused, again.failed) == (4, 4, 0)
    assert {d["mask"] for d in _report(tmp_path / "r.jsonl").values()} == {"cache"}
    run(_opts(tmp_path, "fresh", output=output, workers=1))
    assert _outputs(tmp_path / "ray") == _outputs(tmp_path / "fresh")


def test_ray_with_file_urls_through_fsspec(tmp_path, ray_local, monkeypatch):
    # file:// goes through fsspec's listing and reading in the Ray workers, like s3:// would;
    # memory:// cannot be used here: each Ray worker process has its own memory.
    pytest.importorskip("fsspec")
    monkeypatch.setenv("BGREMOVE_STATE_DIR", str(tmp_path / "state"))
    _folder(tmp_path / "in", 4)
    run(_opts(tmp_path, "local", workers=1))
    urls = (f"file://{tmp_path / 'in'}", f"file://{tmp_path / 'url_out'}")
    first = run(RunOptions(*urls, backend="ray", backend_factory=fake_backend,
                           output=OutputOptions(mask=True), progress="quiet"))
    assert (first.processed, first.failed) == (4, 0)
    assert _outputs(tmp_path / "url_out") == _outputs(tmp_path / "local")
    assert list((tmp_path / "state").rglob("*.sqlite"))  # the manifest stays on local disk
    again = run(RunOptions(*urls, backend="ray", backend_factory=fake_backend,
                           output=OutputOptions(mask=True), progress="quiet"))
    assert (again.processed, again.skipped) == (0, 4)


def test_ray_stop_then_resume(tmp_path, ray_local):
    _folder(tmp_path / "in", 8)
    first = run(_opts(tmp_path, "out", backend="ray", _stop_after=2))
    assert first.interrupted == signal.SIGTERM and first.exit_code == 143
    assert first.processed == 2
    (tmp_path / "out/sub").mkdir(exist_ok=True)
    stale = tmp_path / "out/sub/.p6.png.abcd1234.tmp"  # a node killed while writing
    stale.write_bytes(b"half")
    second = run(_opts(tmp_path, "out", backend="ray"))
    assert not stale.exists()  # removed before the folder's first image
    assert (second.processed, second.skipped, second.exit_code) == (6, 2, 0)
    assert not list((tmp_path / "out").rglob(".*.tmp"))


def test_ray_unusable_model_is_a_config_error(tmp_path, ray_local):
    _folder(tmp_path / "in", 2)
    with pytest.raises(ConfigError, match="broken"):
        run(_opts(tmp_path, "out", backend="ray", backend_factory=broken_backend))


def test_without_ray_the_install_line_and_exit_code_2(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from bgremove.cli import app

    _folder(tmp_path / "in", 1)
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed: import raises
    with pytest.raises(MissingExtraError, match=r'pip install "bgremove\[ray\]"'):
        run(_opts(tmp_path, "out", backend="ray"))
    result = CliRunner().invoke(app, ["run", str(tmp_path / "in"), str(tmp_path / "out"),
                                      "--backend", "ray"])
    assert result.exit_code == 2
    assert 'pip install "bgremove[ray]"' in result.output
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_cli_maps_backend_and_address(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import bgremove.batch.driver
    from bgremove.batch.report import RunSummary
    from bgremove.cli import app

    seen = []
    monkeypatch.setattr(bgremove.batch.driver, "run", lambda o: seen.append(o) or RunSummary())
    args = ["run", str(tmp_path / "in"), str(tmp_path / "out")]
    assert CliRunner().invoke(app, args + ["--backend", "ray", "--address", "auto"]).exit_code == 0
    assert (seen[0].backend, seen[0].address) == ("ray", "auto")
    with pytest.raises(ConfigError, match="backend"):
        RunOptions(tmp_path, tmp_path / "o", backend="spark").validate()
    with pytest.raises(ConfigError, match="address"):
        RunOptions(tmp_path, tmp_path / "o", address="auto").validate()


def test_an_address_that_is_not_ray_fails_in_seconds(tmp_path):
    # Another service's port: TCP connects, Ray's handshake never completes. Exit 2, in bounded
    # time, with a message (not a driver that waits for good).
    import socket
    import subprocess
    import threading
    import time

    pytest.importorskip("ray")
    _folder(tmp_path / "in", 1)
    server = socket.create_server(("127.0.0.1", 0))
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    port = server.getsockname()[1]
    env = {**os.environ, "BGREMOVE_RAY_CONNECT_TIMEOUT": "3", "RAY_USAGE_STATS_ENABLED": "0"}
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "bgremove", "run", str(tmp_path / "in"),
                           str(tmp_path / "out"), "--backend", "ray", "--address",
                           f"127.0.0.1:{port}"], capture_output=True, text=True, env=env,
                          timeout=120)
    server.close()
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert f"no Ray cluster answered at 127.0.0.1:{port} within 3 s" in proc.stderr
    assert time.monotonic() - start < 60


def test_a_ray_client_address_names_what_to_install(tmp_path, monkeypatch):
    pytest.importorskip("ray")
    _folder(tmp_path / "in", 1)
    monkeypatch.setitem(sys.modules, "grpc", None)  # as if ray[client] were not installed
    with pytest.raises(MissingExtraError, match=r'pip install "bgremove\[ray\]"'):
        run(_opts(tmp_path, "out", backend="ray", address="ray://head:10001"))
    assert not (tmp_path / "out").exists()
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert 'ray = ["ray[data,client]' in pyproject  # the extra brings Ray Client along


def test_a_crashing_ray_worker_is_one_line_per_event(tmp_path, ray_local, capfd, caplog,
                                                     monkeypatch):
    import bgremove.batch.ray_backend
    from bgremove.inference.testing import crash_on_red_backend

    monkeypatch.setattr(bgremove.batch.ray_backend, "_TASK_RETRIES", 0)  # fewer events, same kind
    (tmp_path / "in").mkdir()
    Image.fromarray(np.full((32, 32, 3), (255, 0, 0), np.uint8)).save(tmp_path / "in/red.png")
    _product(tmp_path / "in/ok.png", 32, 32, (20, 90, 200))
    summary = run(_opts(tmp_path, "out", backend="ray", backend_factory=crash_on_red_backend))
    assert (summary.processed, summary.failed) == (1, 1)
    assert "Traceback" not in capfd.readouterr().err
    events = [r for r in caplog.records if r.name.startswith("ray.data")
              and r.levelno >= 40]
    assert events and all(r.exc_info is None and "\n" not in r.getMessage() for r in events)
    assert any("ActorUnavailableError" in r.getMessage() or "ActorDiedError" in r.getMessage()
               for r in events)
