"""Finding the images under IN_DIR, one at a time, and where each one's outputs go in OUT_DIR.

Discovery is a generator over os.scandir: a catalog of millions of files costs one directory
listing at a time, never a list of the whole tree. Order is deterministic (sorted by name per
directory, files before subfolders) so progress, reports and resumed runs line up across runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})


def is_image_name(name: str) -> bool:
    """True for names with an image extension, in any letter case."""
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


@dataclass
class DiscoveryStats:
    """Running counts, updated as the generator advances."""

    images: int = 0
    ignored: int = 0
    dirs: int = 0


@dataclass(frozen=True)
class Found:
    """One input image: `rel` is its POSIX path relative to IN_DIR, the manifest's key.

    `stem` is what its output files are named after: the file's stem, or its whole name when
    another image in the same folder has the same stem (a.jpg and a.png would both write a.png).
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


def _colliding_stems(names: list[str]) -> set[str]:
    # casefold: on case-insensitive filesystems A.png and a.png are the same output file.
    seen: dict[str, int] = {}
    for name in names:
        key = os.path.splitext(name)[0].casefold()
        seen[key] = seen.get(key, 0) + 1
    return {k for k, n in seen.items() if n > 1}


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


def iter_images(root: Path, stats: DiscoveryStats | None = None) -> Iterator[Found]:
    """Yield every image under `root`, depth first, sorted by name within each folder.

    Hidden entries (names starting with '.') are skipped: hidden files count as ignored,
    hidden folders (.git, .thumbnails) are not entered. A folder that cannot be listed is
    yielded as a Found with `error`, so the run reports it instead of silently missing images.
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
        subdirs: list[tuple[str, str]] = []
        images: list[os.DirEntry] = []
        for entry in entries:
            if _is_dir(entry):
                if not entry.name.startswith("."):
                    subdirs.append((entry.path, rel_dir + entry.name + "/"))
            elif entry.name.startswith(".") or not is_image_name(entry.name):
                stats.ignored += 1
            else:
                images.append(entry)
        collide = _colliding_stems([e.name for e in images])
        for entry in images:
            stem = os.path.splitext(entry.name)[0]
            stats.images += 1
            yield _found(entry, rel_dir + entry.name, entry.name if stem.casefold() in collide
                         else stem)
        stack.extend(reversed(subdirs))


def count_images(root: Path) -> int:
    """How many images `iter_images` will yield (one cheap listing pass; no stat calls)."""
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
    (compose.output_names(found.stem, ...))."""
    parent = os.path.dirname(found.rel)
    base = os.path.join(str(out_dir), parent) if parent else str(out_dir)
    return {kind: os.path.join(base, name) for kind, name in names.items()}
