"""square_input: weights trained on photos stretched to the square input, as inference then
stretches them (Preprocessing.square): validation, best.pth and the Remover agree on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bgremove.inference.preprocess import Preprocessing  # noqa: E402
from bgremove.model.checkpoint import read_checkpoint  # noqa: E402
from tests.train.test_train import config, write_set  # noqa: E402
from train.data import folder_items  # noqa: E402
from train.trainer import Trainer  # noqa: E402
from train.validate import prepare_sample  # noqa: E402


def test_a_square_val_sample_is_the_stretched_photo_with_nothing_to_unpad(tmp_path: Path) -> None:
    item = folder_items(write_set(tmp_path / "v", 1, seed=3, size=(72, 96)))[0]
    square = Preprocessing(input_size=64, square=True, pad_square=False)
    sample = prepare_sample(item, square)
    assert sample.x.shape == (64, 64, 3) and sample.box == (0, 0, 64, 64)
    assert sample.gt.shape == (72, 96)  # scored at the ground truth's resolution
    kept = prepare_sample(item, Preprocessing(input_size=64))
    assert kept.box[2:] == (48, 64)  # aspect kept: the 4:3 photo is 64 x 48 inside its canvas


def test_square_training_ships_square_weights_that_run_at_full_resolution(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_set(data / "shapes", 8, seed=0, size=(60, 100))
    write_set(data / "val", 2, seed=1, size=(100, 60))
    out = tmp_path / "run"
    Trainer(config(data, out, square_input=True, epochs=1, steps_per_epoch=2,
                   mask_padding=True)).run()
    pre = read_checkpoint(out / "best.pth")["preprocessing"]
    assert pre["square"] is True and pre["pad_square"] is False
    from bgremove.inference.remover import Remover

    remover = Remover(out / "best.pth", device="cpu", threads=1)
    photo = np.random.default_rng(0).integers(0, 256, (90, 150, 3)).astype(np.uint8)
    mask = remover.mask(photo)
    assert mask.shape == (90, 150) and mask.dtype == np.float32
    assert 0.0 <= mask.min() and mask.max() <= 1.0
