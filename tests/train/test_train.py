"""The training pipeline on generated data: loss falls, resume is exact, checkpoints load."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bgremove.model import TINY_ARGS  # noqa: E402
from bgremove.model.checkpoint import load_checkpoint  # noqa: E402
from train import history  # noqa: E402
from train.config import load_config_file, parse_value  # noqa: E402
from train.data import folder_items, split_items  # noqa: E402
from train.prepare_cache import cache_folder  # noqa: E402
from train.sampler import BLOCK, StreamSampler  # noqa: E402
from train.train import DEFAULTS  # noqa: E402
from train.trainer import Trainer  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def write_set(root: Path, n: int, seed: int, size: tuple[int, int] = (72, 96)) -> Path:
    """Coloured rectangles and ellipses on blurred noise, as images/ + masks/."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    h, w = size
    for i in range(n):
        img = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3)).astype(np.uint8), (0, 0), 2)
        mask = np.zeros((h, w), np.uint8)
        cx, cy = int(rng.integers(w // 4, 3 * w // 4)), int(rng.integers(h // 4, 3 * h // 4))
        if i % 2:
            axes = (int(rng.integers(8, w // 3)), int(rng.integers(8, h // 3)))
            cv2.ellipse(mask, (cx, cy), axes, 0, 0, 360, 255, -1)
        else:
            cv2.rectangle(mask, (cx - 15, cy - 20), (cx + 15, cy + 20), 255, -1)
        img[mask > 0] = rng.integers(0, 256, 3)
        cv2.imwrite(str(root / "images" / f"{i:03d}.jpg"), img[..., ::-1])
        cv2.imwrite(str(root / "masks" / f"{i:03d}.png"), mask)
    return root


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    write_set(root / "shapes", 24, seed=0)
    write_set(root / "val", 4, seed=1)
    bg = root / "backgrounds"
    bg.mkdir()
    rng = np.random.default_rng(2)
    for i in range(3):
        cv2.imwrite(str(bg / f"bg{i}.jpg"), rng.integers(0, 256, (80, 120, 3)).astype(np.uint8))
    return root


def config(data: Path, out: Path, **over) -> dict:
    cfg = {k: v for k, (v, _) in DEFAULTS.items()}
    cfg.update(data_root=str(data), train_sets=["shapes"], val_sets=["val"], out=str(out),
               model_args=dict(TINY_ARGS), pretrained_encoder=False, input_size=64,
               batch_size=4, epochs=2, steps_per_epoch=4, workers=0, cache_dir="",
               export_onnx=False, log_every=1000, warmup_steps=2, lr=3e-3, save_every=1000,
               threads=1)
    cfg.update(over)
    return cfg


def test_help_runs_from_repo_root() -> None:
    res = subprocess.run([sys.executable, "-m", "train.train", "--help"], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "--steps-per-epoch" in res.stdout and "--resume" in res.stdout


def test_pipeline_chains_the_stages(capsys) -> None:
    from train.pipeline import main

    main(["--dry-run", "--out", "r", "--resume", "--", "--device", "cpu"])
    cmds = [line for line in capsys.readouterr().out.splitlines() if line.startswith("+ ")]
    assert len(cmds) == 4 and "prepare_cache" in cmds[0]
    assert "stage1.py --out r/stage1" in cmds[1] and "--device cpu" in cmds[1]
    assert "--resume" in cmds[3] and cmds[3].endswith("--init r/stage1/best.pth")


def test_loss_falls_and_outputs_written(data: Path, tmp_path: Path) -> None:
    cfg = config(data, tmp_path, epochs=3, steps_per_epoch=8, copypaste_donors=["shapes"],
                 copypaste_weight=0.5, augment_strength=0.3, workers=1)
    Trainer(cfg).run()
    rows = history.read_csv(tmp_path / "history.csv")
    assert len(rows) == 3
    assert rows[-1]["train_loss"] < 0.85 * rows[0]["train_loss"], [r["train_loss"] for r in rows]
    assert {"val/iou", "val/boundary_f", "val/hausdorff", "val/loss"} <= set(rows[-1])
    assert (tmp_path / "history.png").stat().st_size > 1000
    model, ckpt = load_checkpoint(tmp_path / "best.pth")
    assert ckpt["model_args"]["encoder"] == "tiny"
    assert ckpt["preprocessing"]["input_size"] == 64
    assert "optimizer" not in ckpt and "optimizer" not in ckpt["extra"]
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 64, 96)).shape == (1, 1, 64, 96)
    _through_backend(tmp_path / "best.pth")


def test_the_mirror_term_trains_and_is_logged(data: Path, tmp_path: Path) -> None:
    cfg = config(data, tmp_path, epochs=1, steps_per_epoch=4, workers=1, mirror_weight=0.5,
                 log_every=2)
    Trainer(cfg).run()
    rows = history.read_csv(tmp_path / "history.csv")
    assert len(rows) == 1 and np.isfinite(rows[0]["train_loss"])
    assert 0 < rows[0]["train_mirror"] < rows[0]["train_loss"]
    assert (tmp_path / "best.pth").is_file()


def _through_backend(weights: Path) -> None:
    try:
        from bgremove.inference.backends import load_backend
    except ImportError:
        return
    backend = load_backend(weights, device="cpu")
    out = backend.predict(np.zeros((1, 3, 64, 64), np.float32))
    assert out.shape == (1, 1, 64, 64) and np.isfinite(out).all()


def test_resume_after_kill_continues_where_it_stopped(data: Path, tmp_path: Path) -> None:
    # Bit-exact weights against an uninterrupted run cannot be asked of CPU training: oneDNN's
    # backward differs in the last bits between runs, and Adam turns that into visible
    # differences within steps. So: the state is restored exactly, the data stream continues
    # at the right sample, and the run ends as the uninterrupted one does.
    Trainer(config(data, tmp_path / "b", max_steps=3)).run()
    saved = torch.load(tmp_path / "b" / "resume.pt", weights_only=False)
    assert saved["progress"]["step"] == 3 and not (tmp_path / "b" / "history.csv").exists()
    resumed = Trainer(config(data, tmp_path / "b"), resume=True)
    for key, value in saved["model"].items():
        torch.testing.assert_close(resumed.model.state_dict()[key], value, rtol=0, atol=0)
    assert resumed.scheduler.last_epoch == 3
    assert resumed.optimizer.state_dict()["state"][0]["step"] == 3
    straight = Trainer(config(data, tmp_path / "a"))
    stream = iter(straight.loader())
    fourth = [next(stream) for _ in range(4)][-1]
    first_after = next(iter(resumed.loader()))
    assert torch.equal(fourth["image"], first_after["image"])
    assert torch.equal(fourth["mask"], first_after["mask"])
    straight.run()
    resumed.run()
    ha = history.read_csv(tmp_path / "a" / "history.csv")
    hb = history.read_csv(tmp_path / "b" / "history.csv")
    assert [r["step"] for r in hb] == [r["step"] for r in ha] == [4, 8]
    assert hb[0]["train_loss"] == pytest.approx(ha[0]["train_loss"], rel=1e-3)
    assert hb[1]["train_loss"] == pytest.approx(ha[1]["train_loss"], rel=0.05)


def test_sampler_is_weighted_resumable_and_covers_each_source() -> None:
    s = StreamSampler([10, 1000], [3.0, 1.0], seed=5)
    stream = [x for _, x in zip(range(BLOCK + 500), iter(s), strict=False)]
    share = np.mean([src == 0 for src, _, _ in stream])
    assert 0.72 < share < 0.78
    first_cycle = [item for src, item, _ in stream if src == 0][:10]
    assert sorted(first_cycle) == list(range(10))  # every item once per cycle
    resumed = [x for _, x in zip(range(300), iter(StreamSampler([10, 1000], [3, 1], 5,
                                                               start=BLOCK + 200)), strict=False)]
    assert resumed == stream[BLOCK + 200:BLOCK + 500]
    other = [x for _, x in zip(range(50), iter(StreamSampler([10, 1000], [3, 1], 6)), strict=False)]
    assert other != stream[:50]


def test_split_is_seeded_and_disjoint(data: Path) -> None:
    items = folder_items(data / "shapes")
    train, held = split_items(items, 0.25, seed=1, key="x")
    assert len(held) == 6 and not set(train) & set(held) and len(train) + len(held) == 24
    assert split_items(items, 0.25, seed=1, key="x") == (train, held)
    assert split_items(items, 0.25, seed=2, key="x")[1] != held


def test_prepare_cache_resizes_and_training_uses_it(data: Path, tmp_path: Path) -> None:
    out = cache_folder(data / "shapes", tmp_path / "cache" / "48", 48, workers=1)
    img = cv2.imread(str(out / "images" / "000.jpg"))
    mask = cv2.imread(str(out / "masks" / "000.png"), cv2.IMREAD_GRAYSCALE)
    assert img.shape[:2] == mask.shape == (36, 48)
    assert (out / ".complete").exists()
    from train.sets import build_sources

    cfg = config(data, tmp_path, cache_dir=str(tmp_path / "cache"), cache_long_side=48)
    sources, _ = build_sources(cfg)
    assert all(str(i).startswith(str(tmp_path / "cache")) for i, _ in sources[0].items)


def test_config_file_and_command_line_values(tmp_path: Path) -> None:
    (tmp_path / "c.py").write_text("lr = 0.5\nepochs = 3\n")
    assert load_config_file(tmp_path / "c.py", DEFAULTS) == {"lr": 0.5, "epochs": 3}
    (tmp_path / "bad.py").write_text("learning_rate = 1\n")
    from bgremove.errors import ConfigError

    with pytest.raises(ConfigError, match="learning_rate"):
        load_config_file(tmp_path / "bad.py", DEFAULTS)
    assert parse_value("a:2,b", []) == ["a:2", "b"]
    assert parse_value("['x']", []) == ["x"]
    assert parse_value("false", True) is False
    assert parse_value("{'encoder': 'lite2'}", {}) == {"encoder": "lite2"}
    for config in sorted((REPO / "train" / "configs").glob("*.py")):  # incl. those built on others
        assert load_config_file(config, DEFAULTS)


def test_an_unreadable_image_is_skipped(data: Path, tmp_path: Path) -> None:
    import shutil

    from train.augment import build_augmenter
    from train.data import Source, StreamDataset

    shutil.copytree(data / "shapes", tmp_path / "s")
    (tmp_path / "s" / "images" / "000.jpg").write_bytes(b"not a jpeg")
    ds = StreamDataset([Source("s", folder_items(tmp_path / "s"), 1.0)], build_augmenter(32), 0)
    out = ds[(0, 0, 0)]  # item 0 is broken: item 1 is used instead
    assert out["image"].shape == (3, 32, 32) and out["weight"].shape == (1, 32, 32)


def test_each_donor_folder_is_its_own_weighted_composite_source(data: Path, tmp_path: Path) -> None:
    from train.sets import build_sources

    cfg = config(data, tmp_path, copypaste_donors=["shapes", "val:3"], copypaste_weight=0.5)
    sources, _ = build_sources(cfg)
    by_name = {s.name: s for s in sources}
    assert by_name["copypaste-shapes"].weight == 0.5
    assert by_name["copypaste-val"].weight == 1.5
    assert len(by_name["copypaste-val"].items) == 4
    one, _ = build_sources(config(data, tmp_path, copypaste_donors=["shapes"], copypaste_weight=0.5))
    assert [s.name for s in one] == ["shapes", "copypaste"]


def test_distractors_go_only_to_the_donor_folders_named(data: Path, tmp_path: Path) -> None:
    from train.sets import build_sources

    over = dict(copypaste_donors=["shapes", "val"], copypaste_weight=0.5, paste_distractors=[1, 3])
    every = {s.name: s.copypaste.distractors for s in build_sources(config(data, tmp_path, **over))[0]
             if s.copypaste is not None}
    assert every == {"copypaste-shapes": (1, 3), "copypaste-val": (1, 3)}
    named = build_sources(config(data, tmp_path, distractor_donors=["val"], **over))[0]
    by_name = {s.name: s.copypaste.distractors for s in named if s.copypaste is not None}
    assert by_name == {"copypaste-shapes": (0, 0), "copypaste-val": (1, 3)}


def test_distillation_recipe_selects_on_held_out_training_photos(data: Path, tmp_path: Path) -> None:
    """The recipe of the ISNet-distilled weights: teacher sets with confidence weights, composites
    on labelled backgrounds, padding masked, slim stride 2 + deep supervision, EMA, part-frozen
    encoder, a smaller early crop, and best.pth chosen on photos held out of the training folders
    (val/ sets are only reported)."""
    cfg = config(data, tmp_path, extra_sets=["val:1.0"], copypaste_donors=["val"],
                 copypaste_backgrounds=["shapes"], copypaste_weight=0.5,
                 holdout_sets=["shapes:4"], best_set="select", patience=0,
                 model_args={**TINY_ARGS, "stride2": "slim", "deep_supervision": True},
                 mask_padding=True, teacher_confidence=True, zoom=[0.5, 1.5],
                 paste_scale=[0.1, 0.7], iou_weight=1.0, dice_weight=0.0, ema_decay=0.9,
                 freeze_stride8_frac=0.5, early_input_size=32, early_frac=0.5, epochs=2)
    trainer = Trainer(cfg)
    kinds = {s.name: s.kind for s in trainer.sources}
    assert kinds == {"shapes": "gt", "val": "teacher", "copypaste": "composite"}
    assert len(trainer.sources[0].items) == 20  # 24 minus the 4 held out for selection
    assert trainer.size_at(0) == 32 and trainer.size_at(1) == 64
    batch = next(iter(trainer.loader()))
    assert batch["image"].shape[-1] == 32 and set(batch) >= {"valid", "weight"}
    trainer.run()
    rows = history.read_csv(tmp_path / "history.csv")
    assert len(rows) == 2 and "shapes-select/iou" in rows[-1] and "val/iou" in rows[-1]
    assert not torch.equal(trainer.ema.model.head.weight, trainer.model.head.weight)
    from train.loop import early_encoder, set_train_mode

    set_train_mode(trainer.model, False, frozen_to_stride8=True)
    frozen = early_encoder(trainer.model.encoder)
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert not trainer.model.encoder._bn0.training and trainer.model.encoder._blocks[-1].training
    assert trainer.model.encoder._blocks[-1]._project_conv.weight.requires_grad
    model, ckpt = load_checkpoint(tmp_path / "best.pth")
    assert ckpt["model_args"]["stride2"] == "slim"
    _through_backend(tmp_path / "best.pth")


def test_the_selection_split_survives_a_growing_folder_on_resume(data: Path, tmp_path: Path) -> None:
    import json
    import shutil

    grow = tmp_path / "grow"
    shutil.copytree(data / "shapes", grow)

    def cfg(**over):
        return config(data, tmp_path / "run", train_sets=[str(grow)], holdout_sets=[f"{grow}:4"],
                      best_set="select", **over)

    Trainer(cfg(max_steps=1)).run()
    first = json.loads((tmp_path / "run" / "selection.json").read_text())[str(grow)]
    assert len(first) == 4
    for name in ("images", "masks"):  # the teacher labels more photos meanwhile
        for f in sorted((grow / name).iterdir())[:6]:
            shutil.copy(f, f.with_name("new" + f.name))
    resumed = Trainer(cfg(), resume=True)
    assert json.loads((tmp_path / "run" / "selection.json").read_text())[str(grow)] == first
    trained = {img.stem for img, _ in resumed.sources[0].items}
    assert len(trained) == 24 + 6 - 4 and not trained & set(first)
    assert [n for n, _ in resumed.validator.sets if n.endswith("-select")] == ["grow-select"]


def test_a_relabelled_pool_holds_out_the_photos_recorded_for_its_old_folder(
        data: Path, tmp_path: Path) -> None:
    import shutil

    from train.data import folder_items
    from train.sets import select_split

    old, new = tmp_path / "u2net" / "pool", tmp_path / "mean" / "pool"
    shutil.copytree(data / "shapes", old)
    shutil.copytree(data / "shapes", new)  # the same photos, labelled again
    cfg = {"data_root": str(tmp_path), "seed": 0}
    fixed: dict[str, list[str]] = {}
    _, held_old = select_split(folder_items(old), old, 4, cfg, fixed)
    recorded = sorted(img.stem for img, _ in held_old)

    _, fresh = select_split(folder_items(new), new, 4, cfg, {})  # the folder seeds the draw
    assert sorted(img.stem for img, _ in fresh) != recorded  # so an alias is needed

    aliased = {**cfg, "selection_alias": {str(new): str(old)}}
    train, held = select_split(folder_items(new), new, 4, aliased, fixed)
    assert sorted(img.stem for img, _ in held) == recorded
    assert all(img.parent.parent == new for img, _ in held)
    assert not {img.stem for img, _ in train} & set(recorded)
    assert list(fixed) == [str(new)]  # one record per pool: it moved to the new folder
