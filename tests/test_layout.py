"""The package's rooms import downwards only (README, "How the code is laid out").

    cli.py, cli_*.py, __init__.py, __main__.py -> review/ -> batch/, modeltools/, server/ ->
    inference/ -> imaging/, model/, and every room may import errors.py.

An AST walk over every module, lazy imports inside functions included, so a later change cannot,
say, make the inference core import the batch engine without this test saying where.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "bgremove"
TRAIN = PACKAGE.parent / "train"

# room -> the rooms it may import (besides itself and errors)
ALLOWED = {
    "top": {"batch", "modeltools", "server", "inference", "imaging", "model", "review"},
    "batch": {"inference", "imaging"},
    "review": {"batch", "imaging"},
    "server": {"inference", "imaging"},
    "modeltools": {"inference", "imaging", "model"},
    "inference": {"imaging", "model"},
    "imaging": set(),
    "model": set(),
    "errors": set(),
}
# The one door from the inference core into the torch network: .pth files, loaded on demand.
DOORS = {("bgremove.inference.backends.torch", "model")}


def room_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in ("cli", "__main__", "__init__") or parts[1].startswith("cli_"):
        return "top"
    if not (PACKAGE / parts[1]).is_dir() and not (PACKAGE / f"{parts[1]}.py").is_file():
        return "top"  # a name the package's __init__ defines: `from bgremove import __version__`
    return parts[1]


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def imported_modules(source: str) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "bgremove":  # from bgremove import x: x is a room or a module
                names += [f"bgremove.{a.name}" for a in node.names]
            else:
                names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names]
    return [n for n in names if n == "bgremove" or n.startswith("bgremove.")]


def violations(module: str, source: str) -> list[str]:
    """'module -> imported (room -> room)' for every import that points upwards or sideways."""
    room = room_of(module)
    bad = []
    for target in imported_modules(source):
        other = room_of(target)
        if other in (room, "errors") or room == "top" and other == "top":
            continue
        if other not in ALLOWED[room] or other == "model" and room == "inference" \
                and (module, "model") not in DOORS:
            bad.append(f"{module} -> {target} ({room} -> {other})")
    return bad


def test_every_room_imports_downwards_only() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        found += violations(module_name(path), path.read_text())
    assert not found, "upward or sideways imports:\n" + "\n".join(found)


def test_the_checker_catches_an_upward_import() -> None:
    # The inference core reaching into the batch engine, even lazily inside a function:
    lazy = "def f():\n    from bgremove.batch.worker import process_image\n"
    assert violations("bgremove.inference.tiling", lazy) == [
        "bgremove.inference.tiling -> bgremove.batch.worker (inference -> batch)"]
    assert violations("bgremove.imaging.png", "import bgremove.inference.preprocess\n")
    assert violations("bgremove.batch.worker", "from bgremove.modeltools import metrics\n")
    assert violations("bgremove.inference.remover", "from bgremove.model import build_model\n")
    assert not violations("bgremove.inference.backends.torch", "from bgremove.model import net\n")
    assert not violations("bgremove.batch.worker", "from bgremove.imaging.read import read_image\n")
    assert violations("bgremove.server.remove", "from bgremove.batch.worker import process_one\n")
    assert violations("bgremove.inference.remover", "import bgremove.server.app\n")
    assert not violations("bgremove.server.model", "from bgremove.inference.remover import Remover\n")


def test_every_room_says_what_it_holds_and_may_import() -> None:
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert "May import" in doc, f"{init} must say what it holds and what it may import"


def test_train_uses_only_public_names_of_the_package() -> None:
    private = []
    for path in sorted(TRAIN.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bgremove"):
                private += [f"{path.name}: {node.module}.{a.name}" for a in node.names
                            if a.name.startswith("_")]
    assert not private, private
