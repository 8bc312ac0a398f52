"""Finding the images under IN_DIR, one at a time, and where each one's outputs go in OUT_DIR.

Discovery is a generator over os.scandir: a catalog of millions of files costs one directory
listing at a time, never a list of the whole tree. Order is deterministic (sorted by name per
directory, files before subfolders) so progress, reports and resumed runs line up across runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bgremove.batch.naming import assign_bases
from bgremove.imaging.formats import is_image_name

DEFAULT_SUFFIXES = (".png",)  # a default run's outputs: the PNG cutout


@dataclass
class DiscoveryStats:
    """Running counts, updated as the generator advances."""

    images: int = 0
    ignored: int = 0
    dirs: int = 0
    excluded: int = 0  # images --include/--exclude left out (plan.py)


@dataclass(frozen=True)
class Found:
    """One input image: `rel` is its POSIX path relative to IN_DIR, the manifest's key.

    `stem` is the base its output files are named after (naming.assign_bases): the file's stem,
    or its whole name (plus `~N`) when names would clash within the folder.
    `error` is set instead of size/mtime when the entry could not even be stat'ed or listed.
    """

    path: str
    rel: str
    stem: str
    size: int = 0
    mtime_ns: int = 0
    error: str | None = None


def _list_dir(path: str) -> list[os.DirEntry]:
    with os.scandir(path) as it:
        return sorted(it, key=lambda e: e.name)


def _found(entry: os.DirEntry, rel: str, stem: str) -> Found:
    try:
        st = entry.stat()  # follows symlinks: a linked image is processed like a real one
    except OSError as exc:
        return Found(entry.path, rel, stem, error=f"cannot stat: {exc.strerror or exc}")
    return Found(entry.path, rel, stem, size=st.st_size, mtime_ns=st.st_mtime_ns)


def _is_dir(entry: os.DirEntry) -> bool:
    # Symlinked folders are not followed: they can form loops and lead outside IN_DIR.
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def iter_images(root: Path, stats: DiscoveryStats | None = None,
                suffixes: Sequence[str] = DEFAULT_SUFFIXES) -> Iterator[Found]:
    """Yield every image under `root`, depth first, sorted by name within each folder.

    Hidden entries (names starting with '.') are skipped: hidden files count as ignored,
    hidden folders (.git, .thumbnails) are not entered. A folder that cannot be listed is
    yielded as a Found with `error`, so the run reports it instead of silently missing images.
    `suffixes`: what the outputs add to each image's base (see naming.assign_bases).
    """
    stats = stats if stats is not None else DiscoveryStats()
    stack: list[tuple[str, str]] = [(str(root), "")]
    while stack:
        path, rel_dir = stack.pop()
        try:
            entries = _list_dir(path)
        except OSError as exc:
            yield Found(path, rel_dir or ".", "", error=f"cannot list folder: {exc.strerror}")
            continue
        stats.dirs += 1
        images, dirs, bases = folder_plan(entries, suffixes)
        stats.ignored += len(entries) - len(images) - len(dirs)
        for entry in images:
            stats.images += 1
            yield _found(entry, rel_dir + entry.name, bases[entry.name])
        stack.extend(reversed([(d.path, rel_dir + d.name + "/") for d in dirs
                               if not d.name.startswith(".")]))


def single_image(path: Path, stats: DiscoveryStats | None = None,
                 suffixes: Sequence[str] = DEFAULT_SUFFIXES) -> Found:
    """IN given as one image file: its outputs are named after it alone (`photo.jpg` ->
    `photo.png`, whatever lies beside it), its manifest path is its name. Its extension is not
    checked: a file named on purpose is read for what it holds."""
    if stats is not None:
        stats.images += 1
        stats.dirs += 1
    base = assign_bases([path.name], [], suffixes)[path.name]
    try:
        st = path.stat()
    except OSError as exc:
        return Found(str(path), path.name, base, error=f"cannot stat: {exc.strerror or exc}")
    return Found(str(path), path.name, base, size=st.st_size, mtime_ns=st.st_mtime_ns)


def folder_plan(entries: list[os.DirEntry], suffixes: Sequence[str]
                ) -> tuple[list[os.DirEntry], list[os.DirEntry], dict[str, str]]:
    """One folder's (images, subfolders, {image name: output base}); hidden files and other
    files are neither (they are ignored). Shared with stale.py, so both agree on every name."""
    images, dirs = [], []
    for entry in entries:
        if _is_dir(entry):
            dirs.append(entry)
        elif not entry.name.startswith(".") and is_image_name(entry.name):
            images.append(entry)
    bases = assign_bases([e.name for e in images], [d.name for d in dirs], suffixes)
    return images, dirs, bases


def count_images(root: Path) -> int:
    """How many images `iter_images` will yield (one cheap listing pass; no stat calls)."""
    if root.is_file():
        return 1
    total = 0
    stack = [str(root)]
    while stack:
        try:
            entries = _list_dir(stack.pop())
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if _is_dir(entry):
                stack.append(entry.path)
            elif is_image_name(entry.name):
                total += 1
    return total


def output_paths(out_dir: Path, found: Found, names: dict[str, str]) -> dict[str, str]:
    """Where each output of `found` goes: the same subfolder under OUT_DIR, named by `names`
    (outputs.output_names(found.stem, ...))."""
    parent = os.path.dirname(found.rel)
    base = os.path.join(str(out_dir), parent) if parent else str(out_dir)
    return {kind: os.path.join(base, name) for kind, name in names.items()}
