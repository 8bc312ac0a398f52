"""Which folders a config trains and validates on: weighted sources, CopyPaste, held-out splits."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from bgremove.errors import ConfigError
from bgremove.modeltools.evaluate import set_names
from train.copypaste import CopyPaste, Item
from train.data import (
    Source,
    cached_dir,
    folder_items,
    load_pair,
    parse_set,
    resolve_dir,
    split_items,
)
from train.label_teacher import label_stats
from train.validate import ValSet


def cache_root(cfg: dict) -> Path | None:
    if not cfg.get("cache_dir"):
        return None
    return Path(cfg["cache_dir"]) / str(cfg["cache_long_side"])


def existing_dir(spec: str, cfg: dict) -> Path:
    path = resolve_dir(spec, cfg["data_root"])
    if not path.is_dir():
        raise ConfigError(f"data folder not found: {spec} (looked for {path})")
    return path


def use_cache(items: list[Item], directory: Path, root: Path | None) -> list[Item]:
    """The same items (by stem) read from the pre-resized cache when one exists."""
    cdir = cached_dir(directory, root)
    if cdir == directory:
        return items
    by_stem = {img.stem: (img, mask) for img, mask in folder_items(cdir)}
    return [by_stem.get(img.stem, (img, mask)) for img, mask in items]


def holdout_counts(cfg: dict) -> dict[Path, int]:
    """folder -> how many of its items `holdout_sets` keeps out of training for selection."""
    return {existing_dir(d, cfg): int(n) for d, n in map(parse_set, cfg.get("holdout_sets", []))}


Selection = dict[str, list[str]]  # folder -> stems held out for selection, fixed per run


def _portable(directory: Path, data_root: str | Path) -> str:
    """A folder as a selection file names it: relative to data_root or to the working directory
    where it lies under one, so the file can be committed and read on another machine."""
    for base in (Path(data_root).expanduser().resolve(), Path.cwd()):
        if directory.is_relative_to(base):
            return directory.relative_to(base).as_posix()
    return str(directory)


def write_selection(path: Path, fixed: Selection, data_root: str | Path) -> None:
    portable = {_portable(Path(k), data_root): v for k, v in fixed.items()}
    path.write_text(json.dumps(portable, indent=1))


def read_selection(path: str | Path, data_root: str | Path) -> Selection:
    """A selection file with its folders as absolute paths (as `select_split` keys them). Files
    written before folders were stored relative name them absolutely and read as they are."""
    fixed = json.loads(Path(path).read_text())
    return {str(resolve_dir(k, data_root)): v for k, v in fixed.items()}


def select_split(items: list[Item], directory: Path, count: int, cfg: dict,
                 fixed: Selection) -> tuple[list[Item], list[Item]]:
    """Hold out `count` items for selection. The choice is recorded in `fixed` and reused as it
    is when the folder is listed again (a resumed run whose teacher labels have grown since
    keeps scoring the same photos, so its epochs stay comparable). A folder named in
    `selection_alias` (the same photos labelled by another teacher) takes its old folder's
    recorded choice (the record moves to the new folder, so the selection split keeps one set
    per pool), and a run on the new labels holds out the photos its parent held out."""
    key = str(directory)
    aliases = {str(resolve_dir(k, cfg["data_root"])): str(resolve_dir(v, cfg["data_root"]))
               for k, v in cfg.get("selection_alias", {}).items()}
    if key not in fixed and aliases.get(key) in fixed:
        fixed[key] = fixed.pop(aliases[key])
    if key not in fixed:
        _, held = split_items(items, 0.0, cfg["seed"], key, count)
        fixed[key] = sorted(img.stem for img, _ in held)
    stems = set(fixed[key])
    return ([it for it in items if it[0].stem not in stems],
            [it for it in items if it[0].stem in stems])


def train_items(directory: Path, cfg: dict, fixed: Selection | None = None
                ) -> tuple[list[Item], list[Item]]:
    """(training items, possibly cached; held-out items at full resolution)."""
    items = folder_items(directory)
    if not items:
        raise ConfigError(f"{directory}: no images found")
    count = holdout_counts(cfg).get(directory, 0)
    if count:
        train, held = select_split(items, directory, count, cfg, {} if fixed is None else fixed)
    else:
        train, held = split_items(items, cfg["val_split"], cfg["seed"], str(directory))
    return use_cache(train, directory, cache_root(cfg)), held


def build_sources(cfg: dict, fixed: Selection | None = None) -> tuple[list[Source], list[ValSet]]:
    """The weighted training sources and the held-out sets: '<set>-select' for folders in
    holdout_sets (they pick best.pth with best_set = "select"; `fixed` records and replays
    which photos), '<set>-holdout' for val_split."""
    fixed = {} if fixed is None else fixed
    n_train = len(cfg["train_sets"])
    specs = [parse_set(s) for s in [*cfg["train_sets"], *cfg["extra_sets"]]]
    dirs = [existing_dir(d, cfg) for d, _ in specs]
    selected = holdout_counts(cfg)
    sources, held_sets = [], []
    for i, (directory, name, (_, weight)) in enumerate(zip(dirs, set_names(dirs), specs,
                                                            strict=True)):
        train, held = train_items(directory, cfg, fixed)
        sources.append(Source(name, train, weight, kind="gt" if i < n_train else "teacher"))
        if held:
            suffix = "select" if directory in selected else "holdout"
            held_sets.append(ValSet(f"{name}-{suffix}", held))
    if cfg["copypaste_weight"] > 0:
        sources += copypaste_sources(cfg, fixed)
    if not sources:
        raise ConfigError("no training data: set train_sets (or copypaste_donors)")
    return sources, held_sets


def copypaste_sources(cfg: dict, fixed: Selection | None = None) -> list[Source]:
    """One composite source per donor folder, weighted copypaste_weight x the folder's weight:
    a small donor set (teacher-labelled objects) would otherwise be drawn in proportion to its size
    next to 14k garments, i.e. almost never."""
    specs = [parse_set(s) for s in cfg["copypaste_donors"]]
    if not specs:
        return []
    fixed = {} if fixed is None else fixed
    backgrounds: list[Item] = []
    selected = holdout_counts(cfg)
    for spec in cfg["copypaste_backgrounds"]:
        directory = existing_dir(parse_set(spec)[0], cfg)
        items = folder_items(directory)
        if directory in selected:  # a photo held out for selection is never pasted onto
            items = select_split(items, directory, selected[directory], cfg, fixed)[0]
        backgrounds += use_cache(items, directory, cache_root(cfg))
    backgrounds = quiet_backgrounds(backgrounds, cfg["background_max_coverage"],
                                    cfg["background_min_confidence"])
    if not backgrounds:
        raise ConfigError("CopyPaste needs donor pairs and background images")
    dirs = [existing_dir(d, cfg) for d, _ in specs]
    names = set_names(dirs)
    crowded = {existing_dir(d, cfg) for d in cfg["distractor_donors"]} or set(dirs)
    sources = []
    for directory, name, (_, weight) in zip(dirs, names, specs, strict=True):
        donors = train_items(directory, cfg, fixed)[0]
        if not donors:
            raise ConfigError("CopyPaste needs donor pairs and background images")
        distractors = tuple(cfg["paste_distractors"]) if directory in crowded else (0, 0)
        paste = CopyPaste(donors, backgrounds, load_pair, scale=tuple(cfg["paste_scale"]),
                          distractors=distractors,
                          distractor_scale=tuple(cfg["distractor_scale"]),
                          shadows=float(cfg["paste_shadows"]))
        label = "copypaste" if len(specs) == 1 else f"copypaste-{name}"
        sources.append(Source(label, donors, float(cfg["copypaste_weight"]) * weight, paste,
                              kind="composite"))
    return sources


def quiet_backgrounds(items: list[Item], max_coverage: float, min_confidence: float
                      ) -> list[Item]:
    """The backgrounds whose own label leaves most of the photo background (coverage, the share
    of pixels over 0.5, at most max_coverage) and is decided (mean |2p - 1| at least
    min_confidence). A teacher that calls a whole grocery shelf foreground, or greys it out,
    makes every object pasted onto it one more blob in a frame labelled foreground
    (weights/MODEL_CARD.md, "Stage 28"). Photos without a mask always pass; 1.0 and 0.0 keep all."""
    if max_coverage >= 1.0 and min_confidence <= 0.0:
        return items
    kept = []
    for image, mask_path in items:
        if mask_path is not None:
            mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
            if mask is None:
                continue  # unreadable: CopyPaste would skip it anyway
            p = cv2.resize(mask, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
            coverage, confidence = label_stats(p)
            if coverage > max_coverage or confidence < min_confidence:
                continue
        kept.append((image, mask_path))
    return kept


def build_val_sets(cfg: dict, held: list[ValSet]) -> list[ValSet]:
    dirs = [existing_dir(d, cfg) for d in cfg["val_sets"]]
    named = [ValSet(name, folder_items(d)) for d, name in zip(dirs, set_names(dirs), strict=True)]
    return [*named, *held]
