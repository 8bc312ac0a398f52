"""Resume state: which inputs already have up-to-date outputs in OUT_DIR.

A SQLite file in OUT_DIR (stdlib, atomic commits, indexed lookups, no full rewrite for a catalog
of millions). One row per input, keyed by its path relative to IN_DIR, written only after every
output of that image is on disk. An input is skipped when its size, mtime_ns, the options key
(weights content hash + every option that changes the output bytes) and its output names match
the row, and all those outputs still exist. Only the parent process touches the database.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

MANIFEST_NAME = ".bgremove-manifest.sqlite"
_COMMIT_EVERY_S = 2.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    rel BLOB PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    key TEXT NOT NULL, outputs TEXT NOT NULL, done_at REAL NOT NULL);
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


class Manifest:
    """The manifest of one OUT_DIR. Use as a context manager; `close` commits."""

    def __init__(self, out_dir: Path, exists: Callable[[str], bool] | None = None) -> None:
        """`out_dir`: where the database lives (OUT, or a URL OUT's local state folder).
        `exists(rel_output)`: whether an output is still there (default: a file in out_dir)."""
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / MANIFEST_NAME
        self._exists = exists or (lambda rel: os.path.exists(self.out_dir / rel))
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
        self._last_commit = time.monotonic()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        # WAL + NORMAL: a crash loses at most the last uncommitted rows, never corrupts the file.
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        db.commit()
        return db

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def is_done(self, rel: str, size: int, mtime_ns: int, key: str, outputs: list[str]) -> bool:
        """True when `rel` was processed with these stats and options and its outputs exist."""
        row = self._db.execute(
            "SELECT size, mtime_ns, key, outputs FROM files WHERE rel = ?", (_path_key(rel),)
        ).fetchone()
        if row is None or tuple(row[:3]) != (size, mtime_ns, key):
            return False
        if json.loads(row[3]) != outputs:
            return False
        return all(self._exists(o) for o in outputs)

    def record(self, rel: str, size: int, mtime_ns: int, key: str, outputs: list[str]) -> None:
        """Note that every output of `rel` was written; committed in batches (see flush)."""
        self._db.execute(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)",
            (_path_key(rel), size, mtime_ns, key, json.dumps(outputs), time.time()),
        )
        if time.monotonic() - self._last_commit > _COMMIT_EVERY_S:
            self.flush()

    def flush(self) -> None:
        self._db.commit()
        self._last_commit = time.monotonic()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._db.close()

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM files").fetchone()[0]

    def weights_digest(self, path: Path) -> str:
        """SHA-256 of a weights file, cached by (path, size, mtime_ns): hashed once, not per run."""
        path = Path(path).resolve()
        st = path.stat()
        row = self._db.execute(
            "SELECT size, mtime_ns, digest FROM weights WHERE path = ?", (str(path),)
        ).fetchone()
        if row is not None and (row[0], row[1]) == (st.st_size, st.st_mtime_ns):
            return row[2]
        digest = file_digest(path)
        self._db.execute(
            "INSERT OR REPLACE INTO weights VALUES (?, ?, ?, ?)",
            (str(path), st.st_size, st.st_mtime_ns, digest),
        )
        self.flush()
        return digest
