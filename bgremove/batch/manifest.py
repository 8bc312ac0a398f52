"""Resume state: which inputs already have up-to-date outputs in OUT_DIR.

A SQLite file in OUT_DIR (stdlib, atomic commits, indexed lookups, no full rewrite for a catalog
of millions). One row per input, keyed by its path relative to IN_DIR, written only after every
output of that image is on disk. An input is skipped when its size, mtime_ns, the options key
(weights content hash + every option that changes the output bytes) and its output names match
the row, and every output still exists with the size it was written with (an output truncated or
replaced in place is redone). Only the driver process touches the database.

Rows are committed every 2 s by a timer, and at close: a driver waiting for a slow or lost
worker still commits what finished. Manifests written before output sizes were recorded are
upgraded in place: such a row's outputs are checked once for a complete file (format trailer)
and their sizes recorded, so an upgrade redoes only outputs that are damaged.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bgremove.imaging.completeness import looks_complete

MANIFEST_NAME = ".bgremove-manifest.sqlite"
_COMMIT_EVERY_S = 2.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    rel BLOB PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    key TEXT NOT NULL, outputs TEXT NOT NULL, done_at REAL NOT NULL, sizes TEXT);
CREATE TABLE IF NOT EXISTS weights (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, digest TEXT NOT NULL);
"""


def _path_key(rel: str) -> bytes:
    # Bytes, not text: file names that are not valid UTF-8 (surrogate-escaped by Python) must
    # still get a row; SQLite would refuse them as TEXT.
    return rel.encode("utf-8", "surrogateescape")


def options_key(parts: dict) -> str:
    """A short stable hash of everything that changes the output bytes."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def file_digest(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def local_size(folder: Path) -> Callable[[str], int | None]:
    """size_of(rel) for outputs in a local folder: the file's size, None when it is missing."""
    def size_of(rel: str) -> int | None:
        try:
            return os.stat(folder / rel).st_size
        except OSError:
            return None
    return size_of


class Manifest:
    """The manifest of one OUT_DIR. Use as a context manager; `close` commits."""

    def __init__(self, out_dir: Path, size_of: Callable[[str], int | None] | None = None,
                 out_root: Path | None = None) -> None:
        """`out_dir`: where the database lives (OUT, or a URL OUT's local state folder).
        `size_of(rel_output)`: an output's size, None when missing (default: a file in out_dir).
        `out_root`: the local OUT whose files legacy rows are checked in (None: no check)."""
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / MANIFEST_NAME
        self._size_of = size_of or local_size(self.out_dir)
        self._out_root = out_root if size_of else self.out_dir
        self.warning: str | None = None
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as exc:
            # A damaged manifest must not block the catalog: set it aside and start over
            # (everything is processed once more, outputs are rewritten atomically).
            aside = self.path.with_name(f"{MANIFEST_NAME}.corrupt-{int(time.time())}")
            os.replace(self.path, aside)
            self.warning = f"manifest was unreadable ({exc}); moved to {aside.name}, starting fresh"
            self._db = self._open()
        self._lock = threading.Lock()
        self._dirty = False
        self._closed = threading.Event()
        self._timer = threading.Thread(target=self._commit_loop, name="bgremove-manifest",
                                       daemon=True)
        self._timer.start()

    def _open(self) -> sqlite3.Connection:
        # check_same_thread off: the commit timer shares the connection, under self._lock.
        db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        # WAL + NORMAL: a crash loses at most the last uncommitted rows, never corrupts the file.
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        columns = {row[1] for row in db.execute("PRAGMA table_info(files)")}
        if "sizes" not in columns:  # a manifest from before sizes were recorded
            db.execute("ALTER TABLE files ADD COLUMN sizes TEXT")
        db.commit()
        return db

    def _commit_loop(self) -> None:
        while not self._closed.wait(_COMMIT_EVERY_S):
            with self._lock:
                if self._dirty and not self._closed.is_set():
                    self._commit()

    def _commit(self) -> None:
        self._db.commit()
        self._dirty = False

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def is_done(self, rel: str, size: int, mtime_ns: int, key: str, outputs: list[str]) -> bool:
        """True when `rel` was processed with these stats and options and its outputs are all
        there, each with the size it was written with."""
        with self._lock:
            row = self._db.execute(
                "SELECT size, mtime_ns, key, outputs, sizes FROM files WHERE rel = ?",
                (_path_key(rel),)).fetchone()
        if row is None or tuple(row[:3]) != (size, mtime_ns, key):
            return False
        if json.loads(row[3]) != outputs:
            return False
        now = [self._size_of(o) for o in outputs]
        if row[4] is not None:
            return now == json.loads(row[4])
        if None in now or not all(self._complete(o) for o in outputs):
            return False
        with self._lock:  # a legacy row: its outputs look whole, so their sizes are recorded
            self._db.execute("UPDATE files SET sizes = ? WHERE rel = ?",
                             (json.dumps(now), _path_key(rel)))
            self._dirty = True
        return True

    def _complete(self, rel_output: str) -> bool:
        return self._out_root is None or looks_complete(self._out_root / rel_output)

    def record(self, rel: str, size: int, mtime_ns: int, key: str, outputs: list[str],
               sizes: list[int] | None = None) -> None:
        """Note that every output of `rel` was written, `sizes` bytes each (None: as they are
        on disk now); committed by the timer (see flush)."""
        if sizes is None:
            sizes = [self._size_of(o) for o in outputs]
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?)",
                (_path_key(rel), size, mtime_ns, key, json.dumps(outputs), time.time(),
                 json.dumps(sizes)),
            )
            self._dirty = True

    def flush(self) -> None:
        with self._lock:
            self._commit()

    def close(self) -> None:
        self._closed.set()
        self._timer.join()
        try:
            self.flush()
        finally:
            self._db.close()

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM files").fetchone()[0]

    def weights_digest(self, path: Path) -> str:
        """SHA-256 of a weights file, cached by (path, size, mtime_ns): hashed once, not per run."""
        path = Path(path).resolve()
        st = path.stat()
        with self._lock:
            row = self._db.execute(
                "SELECT size, mtime_ns, digest FROM weights WHERE path = ?", (str(path),)
            ).fetchone()
        if row is not None and (row[0], row[1]) == (st.st_size, st.st_mtime_ns):
            return row[2]
        digest = file_digest(path)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO weights VALUES (?, ?, ?, ?)",
                (str(path), st.st_size, st.st_mtime_ns, digest),
            )
            self._commit()
        return digest
