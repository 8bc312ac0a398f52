"""A real server's life: not ready until the model is loaded, SIGTERM finishes what is in flight and
refuses what is new, a model that cannot load ends the process, and bad options exit 2 at once."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from serving import Answer, Served, encode, free_port, product_photo

pytest.importorskip("fastapi")

JPEG = encode(product_photo(120, 160, 7), "JPEG", quality=90)
SIGTERM_EXITS = (0, -signal.SIGTERM, 128 + signal.SIGTERM)  # uvicorn re-raises the signal it got


def test_sigterm_finishes_requests_in_flight_and_refuses_new_ones():
    # Each image waits 1.5 s for company: the request is surely in flight when SIGTERM comes.
    server = Served("--batch-wait-ms", "1000", "--max-batch", "8")
    answers: list[Answer] = []
    start = time.monotonic()
    client = threading.Thread(target=lambda: answers.append(server.post(JPEG, ctype="image/jpeg")))
    client.start()
    time.sleep(0.4)
    server.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert client.is_alive(), "the request should still be waiting for its batch"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
    client.join(30)
    assert answers and answers[0].status == 200 and answers[0].image().shape == (120, 160, 4)
    assert time.monotonic() - start >= 1.0
    assert server.proc.wait(30) in SIGTERM_EXITS, server.output()


def test_not_ready_until_the_model_is_loaded(tmp_path):
    """In a thread, so the test can hold the model's loading: /health answers at once, /ready and
    /remove say 503 until the model is there."""
    import uvicorn

    from bgremove.inference.testing import FakeBackend
    from bgremove.server.app import create_app
    from bgremove.server.options import ServeOptions

    gate = threading.Event()

    def slow_model():
        gate.wait(30)
        return FakeBackend()

    port = free_port()
    app = create_app(ServeOptions(port=port), backend_factory=slow_model)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    client = Served.__new__(Served)  # only its HTTP helpers
    client.port, client.auth = port, {}
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        assert client.get("/health").status == 200
        ready = client.get("/ready")
        assert ready.status == 503 and ready.json()["ready"] is False
        answer = client.post(JPEG, ctype="image/jpeg")
        assert answer.status == 503 and answer.json()["error"] == "not_ready"
        assert answer.headers["retry-after"] == "1"
        gate.set()
        for _ in range(100):
            if client.get("/ready").status == 200:
                break
            time.sleep(0.05)
        assert client.get("/ready").json() == {"ready": True, "model": "fake",
                                               "version": client.get("/ready").json()["version"]}
        assert client.post(JPEG, ctype="image/jpeg").status == 200
    finally:
        gate.set()
        server.should_exit = True
        thread.join(30)


def test_weights_that_cannot_load_end_the_server_with_3(tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not an onnx model at all")
    server = Served("--weights", str(broken), wait_ready=False)
    assert server.proc.wait(60) == 3
    assert "could not be loaded" in server.output()


def _serve(*args: str):
    """`bgremove serve ARGS` in this process: each of these fails before any socket or model."""
    from typer.testing import CliRunner

    from bgremove.cli import app

    return CliRunner().invoke(app, ["serve", *args])


@pytest.mark.parametrize("args, words", [
    (["--port", "70000"], "--port"),
    (["--weights", "/nonexistent/w.onnx"], "weights file not found"),
    (["--queue", "0"], "--queue"),
    (["--device", "tpu"], "--device"),
    (["--token", " "], "--token"),
])
def test_configuration_errors_exit_2(args, words):
    result = _serve(*args)
    assert result.exit_code == 2 and words in result.output, result.output


def test_a_taken_port_exits_2():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = _serve("--port", str(taken.getsockname()[1]))
    assert result.exit_code == 2 and "cannot listen" in result.output, result.output


def test_missing_extra_names_the_install_line():
    code = ("import sys; sys.modules['fastapi'] = None; sys.argv = ['bgremove', 'serve']; "
            "from bgremove.__main__ import main; main()")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and 'pip install "bgremove[serve]"' in proc.stderr, proc.stderr


def test_two_workers_each_with_a_model_stop_on_sigterm():
    server = Served("--workers", "2")
    assert [server.post(JPEG, ctype="image/jpeg").status for _ in range(3)] == [200] * 3
    assert server.stop() in SIGTERM_EXITS, server.output()
