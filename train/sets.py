"""Which folders a config trains and validates on: weighted sources, CopyPaste, held-out splits."""

from __future__ import annotations

from pathlib import Path

from bgremove.errors import ConfigError
from bgremove.evaluate import set_names
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


def train_items(directory: Path, cfg: dict) -> tuple[list[Item], list[Item]]:
    """(training items, possibly cached; held-out val items at full resolution)."""
    items = folder_items(directory)
    if not items:
        raise ConfigError(f"{directory}: no images found")
    train, held = split_items(items, cfg["val_split"], cfg["seed"], key=str(directory))
    return use_cache(train, directory, cache_root(cfg)), held


def build_sources(cfg: dict) -> tuple[list[Source], list[ValSet]]:
    """The weighted training sources and the held-out val sets (when val_split > 0)."""
    specs = [parse_set(s) for s in [*cfg["train_sets"], *cfg["extra_sets"]]]
    dirs = [existing_dir(d, cfg) for d, _ in specs]
    sources, held_sets = [], []
    for directory, name, (_, weight) in zip(dirs, set_names(dirs), specs, strict=True):
        train, held = train_items(directory, cfg)
        sources.append(Source(name, train, weight))
        if held:
            held_sets.append(ValSet(f"{name}-holdout", held))
    if cfg["copypaste_weight"] > 0:
        sources += copypaste_sources(cfg)
    if not sources:
        raise ConfigError("no training data: set train_sets (or copypaste_donors)")
    return sources, held_sets


def copypaste_sources(cfg: dict) -> list[Source]:
    """One composite source per donor folder, weighted copypaste_weight x the folder's weight:
    a small donor set (teacher-labelled objects) would otherwise be drawn in proportion to its size
    next to 14k garments, i.e. almost never."""
    specs = [parse_set(s) for s in cfg["copypaste_donors"]]
    if not specs:
        return []
    backgrounds: list[Item] = []
    for spec in cfg["copypaste_backgrounds"]:
        directory = existing_dir(parse_set(spec)[0], cfg)
        backgrounds += use_cache(folder_items(directory), directory, cache_root(cfg))
    if not backgrounds:
        raise ConfigError("CopyPaste needs donor pairs and background images")
    dirs = [existing_dir(d, cfg) for d, _ in specs]
    names = set_names(dirs)
    sources = []
    for directory, name, (_, weight) in zip(dirs, names, specs, strict=True):
        donors = train_items(directory, cfg)[0]
        if not donors:
            raise ConfigError("CopyPaste needs donor pairs and background images")
        paste = CopyPaste(donors, backgrounds, load_pair)
        label = "copypaste" if len(specs) == 1 else f"copypaste-{name}"
        sources.append(Source(label, donors, float(cfg["copypaste_weight"]) * weight, paste))
    return sources


def build_val_sets(cfg: dict, held: list[ValSet]) -> list[ValSet]:
    dirs = [existing_dir(d, cfg) for d in cfg["val_sets"]]
    named = [ValSet(name, folder_items(d)) for d, name in zip(dirs, set_names(dirs), strict=True)]
    return [*named, *held]
