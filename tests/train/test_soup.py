"""train/soup.py: the weight-space average of a base checkpoint and a fine-tune of it."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from bgremove.model.checkpoint import load_checkpoint, read_checkpoint  # noqa: E402
from tests.tiny_model import make_tiny_checkpoint  # noqa: E402
from train.calibrate import write_factor, write_preprocessing  # noqa: E402
from train.soup import make_soup, soup_state  # noqa: E402


def test_the_soup_lies_between_its_parents_and_runs(tmp_path: Path) -> None:
    base = make_tiny_checkpoint(tmp_path / "base.pth", seed=0)
    tuned = make_tiny_checkpoint(tmp_path / "tuned.pth", seed=1)
    write_factor([tuned], 2.5)  # the fine-tune's own sharpening does not describe the soup
    write_preprocessing([tuned], "guide", 3)  # nor does its guided-filter radius
    make_soup(base, tuned, 0.25, tmp_path / "soup.pth")
    a, b = read_checkpoint(base)["state_dict"], read_checkpoint(tuned)["state_dict"]
    soup = read_checkpoint(tmp_path / "soup.pth")
    changed = 0
    for key, t in soup["state_dict"].items():
        if t.is_floating_point():
            torch.testing.assert_close(t, 0.75 * a[key] + 0.25 * b[key])
            changed += int(not torch.equal(a[key], b[key]))
        else:
            assert torch.equal(t, b[key])
    assert changed > 10  # the parents differ, so the test compares something
    assert soup["extra"]["soup"]["alpha"] == 0.25
    assert read_checkpoint(tuned)["preprocessing"]["sharpen"] == 2.5
    assert "sharpen" not in soup["preprocessing"]
    assert "guide" not in soup["preprocessing"]
    model, _ = load_checkpoint(tmp_path / "soup.pth")
    with torch.no_grad():
        out = model(torch.rand(1, 3, 64, 64))
    assert out.shape == (1, 1, 64, 64) and torch.isfinite(out).all()


def test_alpha_0_and_1_give_the_parents_and_tuned_only_tensors_are_kept() -> None:
    base = {"w": torch.zeros(3), "n": torch.tensor(1)}
    tuned = {"w": torch.ones(3), "n": torch.tensor(7), "head": torch.full((2,), 5.0)}
    assert torch.equal(soup_state(base, tuned, 0.0)["w"], base["w"])
    assert torch.equal(soup_state(base, tuned, 1.0)["w"], tuned["w"])
    half = soup_state(base, tuned, 0.5)
    assert torch.equal(half["w"], torch.full((3,), 0.5))
    assert half["n"].item() == 7 and torch.equal(half["head"], tuned["head"])


def test_checkpoints_of_different_networks_are_refused() -> None:
    with pytest.raises(ValueError, match="not two checkpoints of one network"):
        soup_state({"w": torch.zeros(3)}, {"w": torch.zeros(4)}, 0.5)
    with pytest.raises(ValueError, match="alpha"):
        soup_state({"w": torch.zeros(3)}, {"w": torch.zeros(3)}, 1.5)
