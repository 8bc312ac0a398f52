"""Score checkpoints on a run's selection split: the photos its holdout_sets kept out of training.

    python -m train.score --run runs/distil-cpu weights/bgremove-lite0.pth runs/distil-cpu/best.pth

This is how a new model is compared with the shipped one before it replaces it, without looking
at val/ (which is only reported): same photos, same metrics, same preprocessing as the run's
per-epoch validation, but every selection photo rather than the run's val_limit.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from bgremove.inference.preprocess import Preprocessing
from bgremove.model.checkpoint import load_checkpoint
from bgremove.modeltools.evaluate import set_names
from train.data import folder_items
from train.loss import SegLoss
from train.sets import read_selection
from train.train import DEFAULTS
from train.validate import Validator, ValSet


def run_data_root(run: Path) -> str:
    """The data_root the run was trained with (its config.json), where its relative folders lie."""
    config = run / "config.json"
    saved = json.loads(config.read_text()) if config.is_file() else {}
    return saved.get("data_root", DEFAULTS["data_root"][0])


def selection_sets(run: Path) -> list[ValSet]:
    """'<set>-select' for each folder in the run's selection.json, named as the run names them."""
    fixed = read_selection(run / "selection.json", run_data_root(run))
    dirs = [Path(d) for d in fixed]
    sets = []
    for directory, name in zip(dirs, set_names(dirs), strict=True):
        stems = set(fixed[str(directory)])
        items = [it for it in folder_items(directory) if it[0].stem in stems]
        if len(items) != len(stems):
            sys.exit(f"{directory}: {len(stems) - len(items)} selection photos are missing")
        sets.append(ValSet(f"{name}-select", items))
    return sets


def score(checkpoint: Path, sets: list[ValSet], limit: int) -> dict[str, dict]:
    model, ckpt = load_checkpoint(checkpoint)
    model.eval()
    validator = Validator(sets, Preprocessing.from_dict(ckpt["preprocessing"]), limit)
    return validator.run(model, SegLoss(), torch.device("cpu"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--run", type=Path, required=True, help="training run folder")
    parser.add_argument("--limit", type=int, default=0, help="photos per set (0 = all)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    sets = selection_sets(args.run)
    print(f"selection of {args.run}: " + ", ".join(f"{s.name} {len(s.items)}" for s in sets))
    for path in args.checkpoints:
        results = score(path, sets, args.limit)
        picked = [r for n, r in results.items() if n.endswith("-select")]
        cells = "  ".join(f"{n} {r['iou']:.4f}/{r['mae']:.4f}" for n, r in results.items()
                          if n.endswith("-select"))
        mean_iou = sum(r["iou"] for r in picked) / len(picked)
        mean_mae = sum(r["mae"] for r in picked) / len(picked)
        print(f"{path}: select IoU {mean_iou:.4f} MAE {mean_mae:.4f}  ({cells})", flush=True)


if __name__ == "__main__":
    main()
