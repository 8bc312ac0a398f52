"""The CUDA path's batching, exercised on CPU with the fake backend."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from bgremove.batch.gpu import input_shape, run_batched
from bgremove.batch.progress import Progress
from bgremove.batch.worker import Task, WorkerConfig, get_remover, process_one
from bgremove.imaging.outputs import OutputOptions
from bgremove.inference.preprocess import Preprocessing
from bgremove.inference.testing import fake_backend


def _task(root: Path, name: str, w: int, h: int) -> Task:
    img = np.full((h, w, 3), 255, np.uint8)
    img[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = (20, 120, 200)
    src = root / "in" / name
    src.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(src)
    out = root / "out" / (Path(name).stem + ".mask.png")
    return Task(str(src), name, 0, 0, {"mask": str(out)}, [out.name])


def test_input_shape_groups_by_padded_model_input():
    pre = Preprocessing(input_size=320, multiple=32)  # the training layout: a square canvas
    assert input_shape(pre, 1200, 1600) == input_shape(pre, 1600, 1200) == (320, 320)
    tight = Preprocessing(input_size=320, multiple=32, pad_square=False)
    assert input_shape(tight, 1200, 1600) == input_shape(tight, 1500, 2000) == (256, 320)
    assert input_shape(tight, 1600, 1200) == (320, 256)
    square = Preprocessing(input_size=320, square=True)
    assert input_shape(square, 100, 3000) == (320, 320)


def test_batches_share_shapes_and_match_single_image_masks(tmp_path):
    config = WorkerConfig(OutputOptions(cutout=False, mask=True), backend_factory=fake_backend,
                          device="cuda", batch_size=4)
    tasks = [_task(tmp_path, f"a{i}.png", 160, 120) for i in range(6)]
    tasks += [_task(tmp_path, f"b{i}.png", 90, 160) for i in range(3)]
    bad = Task(str(tmp_path / "missing.png"), "missing.png", 0, 0,
               {"mask": str(tmp_path / "out/missing.mask.png")}, ["missing.mask.png"])
    results = []
    run_batched(config, iter(tasks + [bad]), lambda t, r: results.append(r), lambda: False,
                batch_size=4, io_threads=2)
    assert sorted(r.path for r in results if r.status == "ok") == sorted(t.rel for t in tasks)
    assert [r.path for r in results if r.status == "failed"] == ["missing.png"]
    backend = get_remover(config).backend
    # 6 landscape images -> 4 + 2, 3 portrait -> 3: three model calls instead of nine
    assert backend.calls == 3
    single = WorkerConfig(OutputOptions(cutout=False, mask=True), backend_factory=fake_backend)
    for task in tasks:
        batched = Path(task.outputs["mask"]).read_bytes()
        alone = Task(task.path, task.rel, 0, 0, {"mask": task.outputs["mask"] + ".1.png"}, [])
        assert process_one(single, alone).status == "ok"
        assert Path(alone.outputs["mask"]).read_bytes() == batched


def test_stop_flag_stops_reading(tmp_path):
    config = WorkerConfig(OutputOptions(), backend_factory=fake_backend, device="cuda")
    tasks = iter([_task(tmp_path, f"a{i}.png", 64, 48) for i in range(40)])
    results = []
    run_batched(config, tasks, lambda t, r: results.append(r), lambda: len(results) >= 1,
                batch_size=2, io_threads=1)
    assert 1 <= len(results) < 40
    assert len(list(tasks)) > 0  # the rest was never pulled from the generator


def test_progress_bar_mode_writes_a_bar():
    stream = io.StringIO()
    p = Progress("bar", total=3, stream=stream)
    for status in ("ok", "failed", "skipped"):
        p.update(status)
    p.log("hello")
    p.close()
    text = stream.getvalue()
    assert "3/3" in text and "hello" in text
