"""Stale outputs: files in OUT_DIR that no input makes any more.

After an input is deleted or renamed, or an output option changes (`--format webp` after PNG
cutouts, `--mask` dropped), the old outputs stay where they are: bgremove never deletes
anything by default. `bgremove run ... --stale list` prints them once the run is done, and
`--stale delete` removes them.

OUT_DIR is walked beside IN_DIR, one folder at a time (memory does not grow with the tree). In
each folder the outputs the current inputs get are worked out exactly as the run names them
(discover.folder_plan, with this run's output options). A file is stale when it is a plain,
visible file whose name ends like an output (`.png`, `.webp`, `.jpg`) and is not one of those
names. Everything else is never touched: hidden files (the manifest, the lock, temporary
files), other kinds of file (reports, notes), symbolic links. With `delete`, folders left empty
whose input folder no longer exists are removed too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from bgremove.batch.discover import folder_plan

OUTPUT_ENDINGS = (".png", ".webp", ".jpg")


def expected_names(in_folder: Path, suffixes: Sequence[str]) -> set[str] | None:
    """The output names the images of `in_folder` get; None when it is not a folder."""
    try:
        with os.scandir(in_folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return None
    _, _, bases = folder_plan(entries, suffixes)
    return {base + s for base in bases.values() for s in suffixes}


def find_stale(in_dir: Path, out_dir: Path, suffixes: Sequence[str],
               delete: bool = False) -> Iterator[str]:
    """Yield the path of each stale output under `out_dir` (removing it with `delete`)."""
    stack, orphans = [""], []
    while stack:
        rel = stack.pop()
        expected = expected_names(in_dir / rel, suffixes) if not _is_link(in_dir / rel) else None
        if expected is None:
            orphans.append(rel)
        try:
            with os.scandir(out_dir / rel) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append(os.path.join(rel, entry.name))
            elif _is_stale(entry, expected):
                if delete:
                    os.unlink(entry.path)
                yield entry.path
    if delete:  # deepest first: a parent empties only once its children went
        for rel in sorted((r for r in orphans if r), key=len, reverse=True):
            try:
                os.rmdir(out_dir / rel)
            except OSError:
                pass  # not empty: something that is not ours lives there


def _is_link(path: Path) -> bool:
    return path.is_symlink()  # discovery does not follow linked folders: no outputs come from them


def _is_stale(entry: os.DirEntry, expected: set[str] | None) -> bool:
    if not entry.is_file(follow_symlinks=False) or not entry.name.lower().endswith(OUTPUT_ENDINGS):
        return False
    return expected is None or entry.name not in expected
