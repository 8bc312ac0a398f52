"""The library API (Remover, remove) and predict.py, with the fake colour backend."""

from __future__ import annotations

import importlib.util
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import bgremove
from bgremove.errors import ConfigError, ImageError
from bgremove.imaging.outputs import OutputOptions
from bgremove.imaging.read import read_image
from bgremove.inference import remover as api
from bgremove.inference.remover import Remover, Result, remove

ROOT = Path(__file__).resolve().parents[2]


def _iou(a, b):
    return float(((a > 0.5) & (b > 0.5)).sum() / max(1, ((a > 0.5) | (b > 0.5)).sum()))


def test_package_exposes_api_lazily():
    assert bgremove.Remover is Remover and bgremove.remove is remove
    code = ("import sys, bgremove; "
            "assert not {'torch', 'onnxruntime', 'typer', 'cv2', 'fastapi', 'uvicorn', 'starlette'} "
            "& set(sys.modules), sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_mask_full_resolution_odd_size(fake_backend, scene):
    rgb, truth = scene(333, 501)
    mask = Remover(backend=fake_backend).mask(rgb)
    assert mask.shape == (333, 501) and mask.dtype == np.float32
    assert 0.0 <= mask.min() and mask.max() <= 1.0
    assert _iou(mask, truth) > 0.95


def test_wide_panorama(fake_backend, scene):
    rgb, truth = scene(300, 7000)
    mask = Remover(backend=fake_backend).mask(rgb)
    assert mask.shape == (300, 7000) and _iou(mask, truth) > 0.95


def test_all_sources_give_the_same_mask(fake_backend, scene, tmp_path):
    rgb, _ = scene(120, 90)
    path = tmp_path / "a.png"
    Image.fromarray(rgb).save(path)
    r = Remover(backend=fake_backend)
    ref = r.mask(rgb)
    for src in (path, str(path), path.read_bytes(), Image.open(path), read_image(path)):
        assert np.array_equal(r.mask(src), ref)


def test_masks_batches_global_passes(make_backend, scene):
    backend = make_backend(input_size=64)
    images = [scene(70, 90, seed=i)[0] for i in range(3)]
    r = Remover(backend=backend)
    masks = r.masks(images)
    assert backend.shapes == [(3, 3, 64, 64)]  # three images, one pass, on the square canvas
    for img, m in zip(images, masks, strict=True):
        assert np.allclose(m, r.mask(img), atol=1e-6)


def test_input_transparency_is_kept(fake_backend):
    rgba = np.zeros((60, 80, 4), np.uint8)
    rgba[..., :3] = (200, 20, 20)  # a red object everywhere...
    rgba[..., 3] = 255
    rgba[:, 40:, 3] = 0  # ...but the right half was already cut away
    mask = Remover(backend=fake_backend).mask(rgba)
    assert mask[:, :30].min() > 0.9 and mask[:, 40:].max() == 0.0


def test_process_outputs(fake_backend, scene):
    rgb, truth = scene(100, 140)
    res = Remover(backend=fake_backend).process(rgb, OutputOptions(mask=True, bg_color="black"))
    assert isinstance(res, Result) and set(res.outputs) == {"cutout", "mask", "composite"}
    assert res.mask.shape == (100, 140) and res.image.rgb is not None
    with Image.open(io.BytesIO(res.outputs["cutout"])) as img:
        assert img.mode == "RGBA" and img.size == (140, 100)
    default = Remover(backend=fake_backend).process(rgb)
    assert set(default.outputs) == {"cutout"}


def test_remove_returns_rgba(fake_backend, scene):
    rgb, truth = scene(90, 120)
    rgba = remove(rgb, backend=fake_backend)
    assert rgba.shape == (90, 120, 4) and rgba.dtype == np.uint8
    assert _iou(rgba[..., 3] / 255.0, truth) > 0.9
    out = remove(rgb, backend=fake_backend, options=OutputOptions(cutout=False, mask=True))
    assert set(out) == {"mask"}


def test_remove_reuses_loaded_model(monkeypatch, make_backend, scene):
    loads = []

    def fake_load(weights, device="auto", threads=None, preset=None):
        loads.append(weights)
        return make_backend()

    import bgremove.inference.backends

    monkeypatch.setattr(bgremove.inference.backends, "load_backend", fake_load)
    monkeypatch.setattr(api, "_cached", None)
    rgb, _ = scene(50, 50)
    remove(rgb, "w.onnx")
    remove(rgb, "w.onnx")
    assert loads == ["w.onnx"]
    remove(rgb, "w.onnx", tta=True)
    assert loads == ["w.onnx", "w.onnx"]
    monkeypatch.setattr(api, "_cached", None)


def test_square_models(make_backend, scene):
    rgb, truth = scene(150, 230)
    square = make_backend(square=True)
    mask = Remover(backend=square).mask(rgb)
    assert mask.shape == (150, 230) and _iou(mask, truth) > 0.9


def test_bad_backend_output_is_a_config_error(scene):
    class Broken:
        name = "broken"

        def __init__(self):
            from bgremove.inference.preprocess import Preprocessing

            self.preprocessing = Preprocessing(input_size=64, multiple=8)

        def predict(self, batch):
            return np.zeros((batch.shape[0], 3, 4, 4), np.float32)

    with pytest.raises(ConfigError, match="shape"):
        Remover(backend=Broken()).mask(scene(40, 40)[0])


def test_bad_image_raises_image_error(fake_backend, tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(ImageError):
        Remover(backend=fake_backend).mask(empty)
    with pytest.raises(ImageError):
        Remover(backend=fake_backend, max_pixels=100).mask(np.zeros((20, 20, 3), np.uint8))


# ---- predict.py ----------------------------------------------------------------------------

@pytest.fixture
def predict_module(monkeypatch, fake_backend):
    spec = importlib.util.spec_from_file_location("predict_script", ROOT / "predict.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "_make_remover", lambda args: Remover(backend=fake_backend,
                                                                      tta=args.tta))
    return module


def test_predict_script_outputs(predict_module, scene, tmp_path):
    rgb, truth = scene(120, 160)
    src = tmp_path / "in.jpg"
    Image.fromarray(rgb).save(src, quality=95)
    for name, extra, mode in [("out.png", [], "RGBA"), ("m.png", ["--mask"], "L"),
                              ("out.jpg", [], "RGB"), ("out.webp", ["--tta"], "RGBA")]:
        code = predict_module.main(["--image", str(src), "--output", str(tmp_path / name)]
                                   + extra)
        assert code == 0
        with Image.open(tmp_path / name) as img:
            assert img.mode == mode and img.size == (160, 120)
    with Image.open(tmp_path / "m.png") as img:
        assert _iou(np.asarray(img) / 255.0, truth) > 0.9


def test_predict_script_exit_codes(predict_module, tmp_path, capsys):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    assert predict_module.main(["--image", str(empty), "--output", str(tmp_path / "o.png")]) == 1
    assert "empty.png" in capsys.readouterr().err
    good = tmp_path / "good.png"
    Image.new("RGB", (20, 20)).save(good)
    assert predict_module.main(["--image", str(good), "--output", str(tmp_path / "o.gif")]) == 2
    assert not (tmp_path / "o.png").exists()


def test_predict_script_help_runs():
    out = subprocess.run([sys.executable, str(ROOT / "predict.py"), "--help"],
                         capture_output=True, text=True, check=True)
    assert "--weights" in out.stdout and "--mask" in out.stdout
