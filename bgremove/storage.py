"""Where a run reads images and writes outputs: local paths, or URLs through fsspec.

A location is a local path (a Path) or a URL with a scheme (a str: s3://bucket/in, gs://...,
file:///abs, memory://... in tests). URLs need the `fsspec` extra and the store's own package
(s3fs, gcsfs), on the driver and on every worker node, with credentials from the environment.

- Listing: one fs.walk, folder by folder, with the rules and order of discover.iter_images
  (hidden entries skipped, files before subfolders, colliding stems keep their extension).
- Reading: the object's bytes, decoded by io.read_image like any file.
- Writing: one put per output. On object stores a put is all-or-nothing, so readers never see
  half a file; file:// URLs go through io.write_atomic like local paths.
- Resume state: SQLite cannot live in a bucket (no locking, every commit a full upload), so the
  manifest and the lock of a URL OUT live on the driver's disk, under $BGREMOVE_STATE_DIR
  (default ~/.cache/bgremove/state/<hash of the URL>). Re-run from the same machine, or share
  that folder; without it a re-run redoes every image (the outputs are simply replaced).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bgremove.discover import DiscoveryStats, Found, _colliding_stems, is_image_name, iter_images
from bgremove.errors import ConfigError, ImageError, MissingExtraError

Location = Path | str


def is_url(location: object) -> bool:
    return isinstance(location, str) and "://" in location


def as_location(value: object) -> Location:
    """A URL stays a str (Path would fold its '//'); anything else becomes a Path."""
    text = os.fspath(value) if isinstance(value, os.PathLike) else value
    return text.rstrip("/") if is_url(text) else Path(text)  # type: ignore[arg-type]


def url_fs(url: str) -> tuple[Any, str]:
    """(fsspec filesystem, path inside it); a missing package is a ConfigError (exit 2)."""
    try:
        import fsspec
    except ImportError:
        raise MissingExtraError("fsspec", "fsspec", f"the URL {url}") from None
    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:  # e.g. "Install s3fs to access S3"
        raise ConfigError(f"cannot open {url}: {exc}") from None


def check_urls(in_loc: Location, out_loc: Location) -> None:
    """The URL counterpart of runopts.check_paths: IN exists, IN and OUT do not nest."""
    if is_url(in_loc):
        fs, path = url_fs(in_loc)
        if not fs.isdir(path):
            raise ConfigError(f"input folder not found: {in_loc}")
    if is_url(out_loc):
        fs, path = url_fs(out_loc)
        if fs.isfile(path):
            raise ConfigError(f"output path exists and is not a folder: {out_loc}")
    a, b = str(in_loc) + "/", str(out_loc) + "/"
    if a.startswith(b) or b.startswith(a):
        raise ConfigError(f"input {in_loc} and output {out_loc} must not contain each other")


def state_dir(out_loc: Location) -> Path:
    """Where the manifest and lock of OUT live: OUT itself when local (see module docstring)."""
    if not is_url(out_loc):
        return Path(out_loc)
    base = os.environ.get("BGREMOVE_STATE_DIR") or Path.home() / ".cache" / "bgremove" / "state"
    folder = Path(base) / hashlib.sha256(str(out_loc).encode()).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "OUT.txt").write_text(f"{out_loc}\n")  # which output this state belongs to
    return folder


def find_images(in_loc: Location, stats: DiscoveryStats) -> Iterator[Found]:
    if not is_url(in_loc):
        yield from iter_images(Path(in_loc), stats)
        return
    fs, root = url_fs(in_loc)
    errors: list[BaseException] = []
    for folder, dirs, files in fs.walk(root, detail=True, on_error=errors.append):
        keep = sorted(d for d in dirs if not d.startswith("."))
        dirs_info = {d: dirs[d] for d in keep}
        dirs.clear()
        dirs.update(dirs_info)  # fs.walk descends into what is left, in this order
        stats.dirs += 1
        rel_dir = folder[len(root):].strip("/")
        yield from _folder_images(fs, files, rel_dir + "/" if rel_dir else "", stats)
    for exc in errors:
        yield Found(str(in_loc), ".", "", error=f"cannot list: {exc}")


def _folder_images(fs: Any, files: dict, rel_dir: str, stats: DiscoveryStats) -> Iterator[Found]:
    names = []
    for name in sorted(files):
        if name.startswith(".") or not is_image_name(name):
            stats.ignored += 1
        else:
            names.append(name)
    collide = _colliding_stems(names)
    for name in names:
        info, stem = files[name], os.path.splitext(name)[0]
        stats.images += 1
        yield Found(fs.unstrip_protocol(info["name"]), rel_dir + name,
                    name if stem.casefold() in collide else stem, size=int(info.get("size") or 0),
                    mtime_ns=_mtime_ns(info))


def _mtime_ns(info: dict) -> int:
    """Modification time from whichever key the store uses; 0 when it gives none (then only a
    change of size makes the manifest redo an image)."""
    import datetime as dt

    for key in ("mtime", "LastModified", "last_modified", "updated", "created"):
        value = info.get(key)
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if isinstance(value, dt.datetime):
            value = value.timestamp()
        if isinstance(value, int | float):
            return int(value * 1e9)
    return 0


def read_source(path: str) -> str | bytes:
    """What io.read_image gets: the path itself, or a URL's bytes."""
    if not is_url(path):
        return path
    fs, inner = url_fs(path)
    try:
        return fs.cat_file(inner)
    except FileNotFoundError:
        raise ImageError(path, "file not found") from None
    except OSError as exc:
        raise ImageError(path, f"cannot read: {exc}") from None


def write_output(path: str, data: bytes) -> None:
    """Write one output completely or not at all (module docstring)."""
    from bgremove.io import write_atomic

    if is_url(path):
        fs, inner = url_fs(path)
        if "file" not in fs.protocol:
            fs.pipe_file(inner, data)
            return
        path = inner
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_atomic(path, data)


class OutputIndex:
    """`exists(rel)` for the outputs under a URL OUT, from one listing made on first use
    (one request per skipped image would make a re-run of a big bucket take hours)."""

    def __init__(self, out_url: str) -> None:
        self.out_url = out_url
        self._names: set[str] | None = None

    def __call__(self, rel: str) -> bool:
        if self._names is None:
            fs, root = url_fs(self.out_url)
            found = fs.find(root) if fs.exists(root) else []
            self._names = {p[len(root):].lstrip("/") for p in found}
        return rel in self._names
