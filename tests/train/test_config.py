"""train/config.py: a relabelled stage moves every folder list to the new labels, nothing else."""

from __future__ import annotations

from train.config import relabelled


def test_relabelled_replaces_the_folder_in_every_list_and_leaves_the_rest() -> None:
    cfg = {
        "extra_sets": ["cache/labels/u2net/caltech101:0.5", "train/ccp:1.0"],
        "holdout_sets": ["cache/labels/u2net/caltech101:60"],
        "copypaste_backgrounds": ["cache/labels/u2net/backgrounds", "train/ccp"],
        "lr": 1e-4,
    }
    new = relabelled(cfg, "cache/labels/u2net/", "cache/labels/u2net-int8/")
    assert new == {
        "extra_sets": ["cache/labels/u2net-int8/caltech101:0.5", "train/ccp:1.0"],
        "holdout_sets": ["cache/labels/u2net-int8/caltech101:60"],
        "copypaste_backgrounds": ["cache/labels/u2net-int8/backgrounds", "train/ccp"],
    }
    assert cfg["extra_sets"][0] == "cache/labels/u2net/caltech101:0.5"  # the parent's lists unchanged
