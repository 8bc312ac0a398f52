"""The `bgremove` command through typer's CliRunner, with a tiny real ONNX model: the options
reach the library, and errors become the documented exit codes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

pytest.importorskip("torch")

from tiny_model import make_tiny_onnx  # noqa: E402

from bgremove.cli import app  # noqa: E402

runner = CliRunner()


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return str(make_tiny_onnx(tmp_path_factory.mktemp("cli"))[1])


def _photos(folder, n=3):
    rng = np.random.default_rng(0)
    (folder / "sub").mkdir(parents=True)
    for i in range(n):
        img = np.full((90, 120, 3), 255, np.uint8)
        img[20:70, 30 + i * 5 : 90] = rng.integers(0, 120, 3)
        Image.fromarray(img).save(folder / "sub" / f"p{i}.jpg")
    return folder


def _run(*args):
    return runner.invoke(app, ["run", *map(str, args), "--progress", "quiet"])


def test_run_writes_every_requested_output(tmp_path, weights):
    src, out = _photos(tmp_path / "in"), tmp_path / "out"
    res = _run(src, out, "--weights", weights, "--mask", "--bg-color", "#FFFFFF",
               "--format", "webp", "--crop", "--margin", "5%", "--report", tmp_path / "r.jsonl",
               "--workers", "1", "--png-compression", "3")
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in (out / "sub").iterdir())
    assert names == sorted(f"p{i}{ext}" for i in range(3) for ext in (".webp", ".mask.png", ".jpg"))
    lines = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert {x["status"] for x in lines} == {"ok"} and len(lines) == 3


def test_rerun_skips_and_force_redoes(tmp_path, weights):
    src, out = _photos(tmp_path / "in"), tmp_path / "out"
    assert _run(src, out, "--weights", weights, "--workers", "1").exit_code == 0
    report = tmp_path / "r.jsonl"
    assert _run(src, out, "--weights", weights, "--report", report).exit_code == 0
    assert {json.loads(x)["status"] for x in report.read_text().splitlines()} == {"skipped"}
    assert _run(src, out, "--weights", weights, "--force", "--report", report).exit_code == 0
    assert {json.loads(x)["status"] for x in report.read_text().splitlines()} == {"ok"}


_NOTHING_NEW = """
import json, sys
sys.argv = ["bgremove", "run", *sys.argv[1:], "--progress", "quiet"]
from bgremove.__main__ import main
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps([code, sorted(m for m in ("joblib", "pydantic", "onnxruntime") if m in sys.modules)]))
"""


def test_a_run_with_nothing_new_starts_no_pool(tmp_path, weights):
    """A cron run that finds every image done pays for the CLI only: no worker pool library
    (joblib, ~0.2 s to import), no model, and no pydantic (typer 0.29 parses through it, ~0.3 s)."""
    src, out = _photos(tmp_path / "in"), tmp_path / "out"
    assert _run(src, out, "--weights", weights, "--workers", "2").exit_code == 0
    res = subprocess.run([sys.executable, "-c", _NOTHING_NEW, str(src), str(out), "--weights",
                          weights, "--workers", "2"], capture_output=True, text=True, check=True)
    assert json.loads(res.stdout.splitlines()[-1]) == [0, []], res.stderr


_POOL_START = """
import json, sys
sys.argv = ["bgremove", "run", *sys.argv[1:], "--progress", "quiet"]
from bgremove.batch import pool
seen = []
start = pool.WorkerPool.__init__
def record(self, *args, **kwargs):
    seen.extend(m for m in ("numpy", "cv2", "PIL", "onnxruntime", "torch") if m in sys.modules)
    start(self, *args, **kwargs)
pool.WorkerPool.__init__ = record
from bgremove.__main__ import main
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps([code, seen]))
"""


def test_a_run_starts_its_workers_before_loading_any_pixel_library(tmp_path, weights):
    """The parent only plans and records: numpy, OpenCV, PIL and the model load in the workers,
    so the pool starts ~0.1 s sooner (a second core idles until it does) and the parent stays
    small. A run that writes outputs, so the pool really starts."""
    src, out = _photos(tmp_path / "in"), tmp_path / "out"
    res = subprocess.run([sys.executable, "-c", _POOL_START, str(src), str(out), "--weights",
                          weights, "--workers", "2", "--mask"], capture_output=True, text=True,
                         check=True)
    assert json.loads(res.stdout.splitlines()[-1]) == [0, []], res.stderr
    assert len(list((out / "sub").glob("*.mask.png"))) == 3


def test_a_run_leaves_nothing_of_onnxruntime_in_the_users_home(tmp_path, weights):
    """onnxruntime's Linux wheels keep a telemetry database under ~/.cache/Microsoft unless
    ORT_DISABLE_TELEMETRY is set before they load: a run (its workers load the model) writes
    nothing into its user's home but bgremove's own cache of the optimised graph."""
    src, out, home = _photos(tmp_path / "in"), tmp_path / "out", tmp_path / "home"
    home.mkdir()
    unset = ("ORT_DISABLE_TELEMETRY", "BGREMOVE_CACHE_DIR", "XDG_CACHE_HOME")
    env = {k: v for k, v in os.environ.items() if k not in unset} | {"HOME": str(home)}
    subprocess.run([sys.executable, "-m", "bgremove", "run", str(src), str(out), "--weights",
                    weights, "--workers", "2", "--progress", "quiet"], env=env, check=True)
    assert len(list((out / "sub").glob("*.png"))) == 3
    files = [p.relative_to(home) for p in home.rglob("*") if p.is_file()]
    assert len(files) == 1 and files[0].parent == Path(".cache/bgremove/ort"), files

def test_bad_file_gives_exit_1_and_good_images_are_written(tmp_path, weights):
    src, out = _photos(tmp_path / "in"), tmp_path / "out"
    (src / "broken.jpg").write_bytes(b"")
    res = _run(src, out, "--weights", weights, "--workers", "1")
    assert res.exit_code == 1
    assert len(list((out / "sub").glob("*.png"))) == 3


@pytest.mark.parametrize("args", [
    ["--device", "tpu"],
    ["--weights", "/no/such/file.onnx"],
    ["--format", "gif"],
    ["--margin", "wide"],
])
def test_configuration_errors_give_exit_2(tmp_path, weights, args):
    src = _photos(tmp_path / "in")
    res = _run(src, tmp_path / "out", "--weights", weights, *args)
    assert res.exit_code == 2, res.output


def test_output_inside_input_gives_exit_2_and_writes_nothing(tmp_path, weights):
    src = _photos(tmp_path / "in")
    res = _run(src, src / "out", "--weights", weights)
    assert res.exit_code == 2
    assert not (src / "out").exists()


def test_export_and_eval_commands(tmp_path):
    from tiny_model import make_tiny_checkpoint

    pth = make_tiny_checkpoint(tmp_path / "m.pth")
    res = runner.invoke(app, ["export", str(pth), str(tmp_path / "m.onnx")])
    assert res.exit_code == 0 and "max |onnx - torch|" in res.output
    data = tmp_path / "set"
    (data / "images").mkdir(parents=True)
    (data / "masks").mkdir()
    img = np.zeros((64, 64, 3), np.uint8)
    img[16:48, 16:48] = 200
    Image.fromarray(img).save(data / "images" / "a.png")
    Image.fromarray((img[..., 0] > 0).astype(np.uint8) * 255).save(data / "masks" / "a.png")
    res = runner.invoke(app, ["eval", str(data), "--weights", str(tmp_path / "m.onnx"), "--json"])
    assert res.exit_code == 0, res.output
    scores = json.loads(res.output)["set"]
    assert scores["n"] == 1 and 0.0 <= scores["iou"] <= 1.0
    Image.fromarray(img).save(data / "images" / "cows_00000.png")
    Image.fromarray((img[..., 0] > 0).astype(np.uint8) * 255).save(data / "masks" / "cows_00000.png")
    res = runner.invoke(app, ["eval", str(data), "--weights", str(tmp_path / "m.onnx"), "--by-clip"])
    assert res.exit_code == 0, res.output
    assert "set/cows" in res.output and "set/a" not in res.output  # a.png has no clip name


def test_int8_export_without_calibration_is_a_usage_error(tmp_path):
    from tiny_model import make_tiny_checkpoint

    pth = make_tiny_checkpoint(tmp_path / "m.pth")
    res = runner.invoke(app, ["export", str(pth), str(tmp_path / "m.onnx"), "--int8"])
    assert res.exit_code == 2


# ---- conventions: help, version, choices, errors that name the option ----------------------

@pytest.mark.parametrize("command", [[], ["run"], ["eval"], ["export"], ["review"]])
@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_on_every_command(command, flag):
    res = runner.invoke(app, [*command, flag])
    assert res.exit_code == 0, res.output
    assert "-h, --help" in res.output and "Usage: " in res.output
    options = res.output.split("Options:", 1)[1]
    assert "<bool>" not in options and "<str>" not in options  # flags bare, values named
    arguments = res.output.split("Options:", 1)[0]
    assert "<" not in arguments and "{" not in arguments  # arguments by their names alone
    if not command:
        assert "--version" in res.output and "review" in res.output


def test_version_and_choices_are_listed():
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.startswith("bgremove ")
    text = runner.invoke(app, ["run", "-h"]).output
    for choice in ("<png|webp>", "<jpg|webp|png>", "<auto|cpu|cuda>", "<auto|bar|log|quiet>",
                   "<local|ray>", "<keep|list|delete>"):
        assert choice in text
    for option in ("--canvas", "--fill", "--max-upscale", "--include", "--exclude", "--dry-run",
                   "--no-mask-cache"):
        assert option in text


@pytest.mark.parametrize("args,option", [
    (["--format", "gif"], "--format"),
    (["--jpeg-quality", "0"], "--jpeg-quality"),
    (["--png-compression", "12"], "--png-compression"),
    (["--bg-color", "blu"], "--bg-color"),
    (["--margin", "wide"], "--margin"),
    (["--canvas", "2000x"], "--canvas"),
    (["--fill", "1.5"], "--fill"),
    (["--threshold", "1"], "--threshold"),
    (["--workers", "0"], "--workers"),
    (["--device", "tpu"], "--device"),
])
def test_bad_values_are_refused_by_name(tmp_path, args, option):
    res = runner.invoke(app, ["run", str(tmp_path), str(tmp_path / "out"), *args])
    assert res.exit_code == 2
    assert f"Invalid value for '{option}'" in res.output, res.output
    assert not (tmp_path / "out").exists()


def test_dry_run_from_the_command_line(tmp_path, weights):
    src = _photos(tmp_path / "in")
    res = _run(src, tmp_path / "out", "--weights", weights, "--dry-run")
    assert res.exit_code == 0 and res.output.count("new ") == 3 and "dry run: 3 new" in res.output
    assert not (tmp_path / "out").exists()
