"""Writing output files: complete or absent, never inside IN_DIR, under names the filesystem takes.

- Atomic: the bytes go to a temporary file in the output's own folder, are fsync-ed and renamed
  over the output, so readers (and a run killed at any moment) see the old file or the new one.
- Never inside IN_DIR: OUT_DIR's tree may hold symbolic links (`out/sub -> in/sub`) made after
  the run's start-up checks. Before a folder is created or written, its resolved path is checked
  against IN_DIR's, and the write then goes through a descriptor of exactly the folder that was
  checked (the temporary file is created and renamed relative to it), so a link swapped in
  between cannot redirect it.
- Temporary names: `.<output name>.<8 random characters>.tmp`, the output name shortened (in
  bytes) so the whole stays within the filesystem's 255-byte limit whenever the output name fits.
- Clean-up: a killed worker (or a lost Ray node) leaves its temporary file behind; a run removes
  them from the folders it wrote to at its end, and stale ones from each folder at the start of
  the next run (`remove_temps`). Only names of exactly this shape are touched.
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path

from bgremove.errors import BgRemoveError

NAME_MAX = 255  # bytes per name on ext4, XFS, btrfs, APFS, NTFS
_RANDOM = "abcdefghijklmnopqrstuvwxyz0123456789_"  # tempfile.mkstemp's alphabet
_TEMP = re.compile(rb"\..+\.[a-z0-9_]{8}\.tmp", re.DOTALL)
_DIR_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)


class UnsafeOutputError(BgRemoveError):
    """An output would land inside IN_DIR (through a symbolic link in OUT_DIR's tree)."""


def temp_name(name: str | bytes, tag: str) -> bytes:
    """`.<name>.<tag>.tmp` in bytes, `name` cut (never below one byte) to fit NAME_MAX."""
    raw = os.fsencode(name)
    room = max(1, NAME_MAX - len(tag) - 6)
    return b"." + raw[:room] + b"." + tag.encode() + b".tmp"


def is_temp_name(name: str | bytes) -> bool:
    return _TEMP.fullmatch(os.fsencode(name)) is not None


def is_within(child: str | Path, parent: str | Path) -> bool:
    child, parent = os.fspath(child), os.fspath(parent)
    return child == parent or child.startswith(parent.rstrip(os.sep) + os.sep)


def check_outside(folder: str | Path, forbidden: str | Path | None) -> str:
    """`folder` resolved; UnsafeOutputError when that is `forbidden` (IN_DIR) or inside it."""
    real = os.path.realpath(folder)
    if forbidden is not None and is_within(real, forbidden):
        raise UnsafeOutputError(
            f"refused to write into {folder}: it resolves to {real}, inside the input folder "
            f"{forbidden} (a symbolic link in the output tree?); nothing was written there")
    return real


def make_folder(folder: str | Path, forbidden: str | Path | None = None) -> None:
    """os.makedirs, refusing (before creating anything) a folder that resolves into IN_DIR."""
    check_outside(folder, forbidden)
    os.makedirs(folder, exist_ok=True)


def _open_checked(folder: str, forbidden: str | Path | None) -> int:
    real = check_outside(folder, forbidden)
    fd = os.open(folder, _DIR_FLAGS)
    try:
        st, now = os.fstat(fd), os.stat(real)
        if (st.st_dev, st.st_ino) != (now.st_dev, now.st_ino):
            raise UnsafeOutputError(f"refused to write into {folder}: it changed while it was "
                                    "being checked (a symbolic link swapped in?)")
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_atomic(path: str | Path, data: bytes, forbidden: str | Path | None = None,
                 durable: bool = True) -> None:
    """Write `data` to `path` so readers only ever see the old file or the complete new one.

    `forbidden`: a resolved folder (IN_DIR) the file must not end up in. On any failure the
    temporary file is removed and an existing `path` is left untouched. `durable=False` skips
    the fsync, for a cache whose reader checks each file (after a power cut the renamed file
    may hold less than was written).
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"data must be bytes, not {type(data).__name__}")
    folder, name = os.path.split(os.fspath(path))
    dir_fd = _open_checked(folder or ".", forbidden)
    try:
        fd, tmp = _create_temp(dir_fd, name)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                if durable:
                    os.fsync(f.fileno())
            os.replace(tmp, os.fsencode(name), src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=dir_fd)
            except FileNotFoundError:
                pass
            raise
    finally:
        os.close(dir_fd)


def _create_temp(dir_fd: int, name: str) -> tuple[int, bytes]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) \
        | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = temp_name(name, "".join(random.choices(_RANDOM, k=8)))
        try:
            # The mode goes through the umask like any other new file (mkstemp would make 0600).
            return os.open(tmp, flags, 0o666, dir_fd=dir_fd), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name for {name}")


def remove_temps(folder: str | Path, forbidden: str | Path | None = None) -> int:
    """Delete write_atomic's temporary files in `folder` (not below it); how many went. Nothing
    is deleted where `folder` resolves into `forbidden` (IN_DIR, through a link in OUT_DIR).

    Only safe while no write into `folder` is in progress: the run's lock and the moment it is
    called (before a folder's first task, after the last) make sure of that."""
    removed = 0
    if forbidden is not None and is_within(os.path.realpath(folder), forbidden):
        return 0
    try:
        with os.scandir(os.fsencode(folder)) as entries:
            for entry in entries:
                if is_temp_name(entry.name) and entry.is_file(follow_symlinks=False):
                    try:
                        os.unlink(entry.path)
                        removed += 1
                    except FileNotFoundError:
                        pass
    except (FileNotFoundError, NotADirectoryError):
        pass
    return removed
