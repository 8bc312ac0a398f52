"""nanoGPT-style configuration: defaults in train.py, a config file overrides some of them, and
any key can be overridden again on the command line (`--batch-size 8` or `--batch_size=8`).

A config file is plain Python that assigns names that exist in the defaults (`lr = 3e-4`); an
unknown name is an error rather than a silently ignored typo.
"""

from __future__ import annotations

import argparse
import ast
import runpy
from pathlib import Path
from typing import Any

from bgremove.errors import ConfigError

Defaults = dict[str, tuple[Any, str]]  # key -> (default value, why that default)


def load_config_file(path: str | Path, defaults: Defaults) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    namespace = runpy.run_path(str(path))
    values = {k: v for k, v in namespace.items()
              if not k.startswith("_") and not callable(v) and not isinstance(v, type(runpy))}
    unknown = sorted(set(values) - set(defaults))
    if unknown:
        raise ConfigError(f"{path}: unknown config keys {unknown}")
    return values


def parent_config(child: str | Path, name: str) -> dict[str, Any]:
    """What the config file `name`, beside `child`, assigns: a config that continues another
    stage starts with `globals().update(parent_config(__file__, "distil.py"))` and then
    overrides only what differs (it may also read the parent's values, e.g. holdout_sets)."""
    namespace = runpy.run_path(str(Path(child).with_name(name)))
    return {k: v for k, v in namespace.items() if not k.startswith("__")}


FOLDER_LISTS = ("extra_sets", "holdout_sets", "copypaste_donors", "copypaste_backgrounds")


def relabelled(cfg: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """The config's folder lists with `old` replaced by `new` in every entry: a stage whose pools
    were relabelled by another teacher into a new folder updates them with
    `globals().update(relabelled(globals(), OLD, NEW))` (and names the old folders in
    selection_alias, so its split holds out the same photos)."""
    return {key: [spec.replace(old, new) for spec in cfg[key]] for key in FOLDER_LISTS if key in cfg}


def parse_value(text: str, default: Any) -> Any:
    """Command-line text -> the default's type. Lists take Python syntax or comma-separated
    items; dicts take Python syntax."""
    if isinstance(default, bool):
        low = text.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")
    if isinstance(default, int):
        return int(float(text)) if "e" in text.lower() else int(text)
    if isinstance(default, float):
        return float(text)
    if isinstance(default, list | tuple | dict):
        stripped = text.strip()
        if stripped.startswith(("[", "(", "{")):
            value = ast.literal_eval(stripped)
        elif isinstance(default, dict):
            raise argparse.ArgumentTypeError(f"expected a Python dict, got {text!r}")
        else:
            value = [item.strip() for item in stripped.split(",") if item.strip()]
        return list(value) if isinstance(default, list | tuple) else value
    return text


def build_parser(defaults: Defaults, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m train.train", description=description)
    parser.add_argument("--config", default=None, help="Python file overriding the defaults")
    parser.add_argument("--resume", action="store_true",
                        help="continue from OUT/resume.pt (model, optimiser, data position...)")
    for key, (default, why) in defaults.items():
        flags = [f"--{key.replace('_', '-')}", *([f"--{key}"] if "_" in key else [])]
        parser.add_argument(*flags, dest=key, default=None, metavar=type(default).__name__.upper(),
                            type=lambda text, d=default: parse_value(text, d),
                            help=f"{why} (default: {default!r})")
    return parser


def resolve(argv: list[str] | None, defaults: Defaults, description: str) -> tuple[dict, bool]:
    """-> (config dict: defaults <- config file <- command line, resume flag)."""
    args = build_parser(defaults, description).parse_args(argv)
    cfg = {key: value for key, (value, _) in defaults.items()}
    if args.config:
        cfg.update(load_config_file(args.config, defaults))
        cfg["config_file"] = str(args.config)
    for key in defaults:
        value = getattr(args, key)
        if value is not None:
            cfg[key] = value
    return cfg, bool(args.resume)
