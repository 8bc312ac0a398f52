"""CopyPaste backgrounds: photos whose own label is mostly foreground or undecided are left out."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from train.sets import quiet_backgrounds


def write_mask(path: Path, mask: np.ndarray) -> Path:
    cv2.imwrite(str(path), (mask * 255).astype(np.uint8))
    return path


def test_quiet_backgrounds_keeps_photos_whose_label_is_mostly_decided_background(tmp_path: Path) -> None:
    small = np.zeros((80, 80), np.float32)
    small[20:40, 20:40] = 1.0  # an object over 6% of the photo: a background with a thing in it
    full = np.ones((80, 80), np.float32)  # the teacher calls the whole shelf foreground
    grey = np.full((80, 80), 0.45, np.float32)  # undecided everywhere (coverage 0)
    items = [(tmp_path / f"{name}.jpg", write_mask(tmp_path / f"{name}.png", m))
             for name, m in (("small", small), ("full", full), ("grey", grey))]
    items.append((tmp_path / "plain.jpg", None))  # a photo without a label always passes
    kept = quiet_backgrounds(items, max_coverage=0.35, min_confidence=0.85)
    assert [i.stem for i, _ in kept] == ["small", "plain"]
    assert quiet_backgrounds(items, 1.0, 0.0) == items  # the defaults keep everything
    assert [i.stem for i, _ in quiet_backgrounds(items, 1.0, 0.85)] == ["small", "full", "plain"]
