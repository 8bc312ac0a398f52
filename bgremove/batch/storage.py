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

import contextlib
import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from bgremove.batch.discover import (
    DEFAULT_SUFFIXES,
    DiscoveryStats,
    Found,
    iter_images,
    single_image,
)
from bgremove.batch.naming import assign_bases
from bgremove.errors import ConfigError, ImageError, MissingExtraError
from bgremove.imaging.formats import is_image_name

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
    """The URL counterpart of options.check_paths: IN exists, IN and OUT do not nest."""
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


def state_dir(out_loc: Location, create: bool = True) -> Path:
    """Where the manifest and lock of OUT live: OUT itself when local (see module docstring)."""
    if not is_url(out_loc):
        return Path(out_loc)
    base = os.environ.get("BGREMOVE_STATE_DIR") or Path.home() / ".cache" / "bgremove" / "state"
    folder = Path(base) / hashlib.sha256(str(out_loc).encode()).hexdigest()[:16]
    if not create:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "OUT.txt").write_text(f"{out_loc}\n")  # which output this state belongs to
    return folder


def find_images(in_loc: Location, stats: DiscoveryStats,
                suffixes: Sequence[str] = DEFAULT_SUFFIXES) -> Iterator[Found]:
    if not is_url(in_loc):
        if Path(in_loc).is_file():  # one image (options.check_paths)
            yield single_image(Path(in_loc), stats, suffixes)
        else:
            yield from iter_images(Path(in_loc), stats, suffixes)
        return
    fs, root = url_fs(in_loc)
    errors: list[BaseException] = []
    for folder, dirs, files in fs.walk(root, detail=True, on_error=errors.append):
        dirs_all = list(dirs)
        keep = sorted(d for d in dirs if not d.startswith("."))
        dirs_info = {d: dirs[d] for d in keep}
        dirs.clear()
        dirs.update(dirs_info)  # fs.walk descends into what is left, in this order
        stats.dirs += 1
        rel_dir = folder[len(root):].strip("/")
        yield from _folder_images(fs, files, dirs_all, rel_dir + "/" if rel_dir else "", stats,
                                  suffixes)
    for exc in errors:
        yield Found(str(in_loc), ".", "", error=f"cannot list: {exc}")


def _folder_images(fs: Any, files: dict, subdirs: list[str], rel_dir: str, stats: DiscoveryStats,
                   suffixes: Sequence[str]) -> Iterator[Found]:
    names = []
    for name in sorted(files):
        if name.startswith(".") or not is_image_name(name):
            stats.ignored += 1
        else:
            names.append(name)
    bases = assign_bases(names, subdirs, suffixes)
    for name in names:
        info = files[name]
        stats.images += 1
        yield Found(fs.unstrip_protocol(info["name"]), rel_dir + name, bases[name],
                    size=int(info.get("size") or 0), mtime_ns=_mtime_ns(info))


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


@contextlib.contextmanager
def open_source(path: str) -> Iterator[str | BinaryIO]:
    """What io.read_image gets: a local path as it is, or a URL opened as a file (read as far
    as decoding needs, never downloaded whole: see bytecap)."""
    if not is_url(path):
        yield path
        return
    fs, inner = url_fs(path)
    try:
        f = fs.open(inner, "rb")
    except FileNotFoundError:
        raise ImageError(path, "file not found") from None
    except OSError as exc:
        raise ImageError(path, f"cannot read: {exc}") from None
    with f:
        yield f


def write_output(path: str, data: bytes, forbidden: str | None = None) -> None:
    """Write one output completely or not at all (module docstring), never into `forbidden`
    (the resolved IN_DIR, when local: see safewrite)."""
    from bgremove.imaging.safewrite import make_folder, write_atomic

    if is_url(path):
        fs, inner = url_fs(path)
        if "file" not in fs.protocol:
            fs.pipe_file(inner, data)
            return
        path = inner
    make_folder(os.path.dirname(path), forbidden)
    write_atomic(path, data, forbidden)


class OutputIndex:
    """`size_of(rel)` for the outputs under a URL OUT (None: missing), from one listing made on
    first use (one request per skipped image would make a re-run of a big bucket take hours)."""

    def __init__(self, out_url: str) -> None:
        self.out_url = out_url
        self._sizes: dict[str, int] | None = None

    def __call__(self, rel: str) -> int | None:
        if self._sizes is None:
            fs, root = url_fs(self.out_url)
            found = fs.find(root, detail=True) if fs.exists(root) else {}
            self._sizes = {p[len(root):].lstrip("/"): int(info.get("size") or 0)
                           for p, info in found.items()}
        return self._sizes.get(rel)
