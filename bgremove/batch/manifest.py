"""Resume state: which inputs already have up-to-date outputs in OUT_DIR.

A SQLite file in OUT_DIR (stdlib, atomic commits, indexed lookups, no full rewrite for a catalog
of millions). One row per input, keyed by its path relative to IN_DIR, written only after every
output of that image is on disk. An input is skipped when its size, mtime_ns, the options key
(weights content hash + every option that changes the output bytes) and its output names match
the row, and every output still exists with the size it was written with (an output truncated or
replaced in place is redone). Only the driver process touches the database.

Rows are committed every 2 s by a timer, and at close: a driver waiting for a slow or lost
worker still commits what finished. Each row also keeps the model key (what the mask depends
on: maskcache.py), the coverage and the review flags; failures are kept apart, with their
reason, until the image succeeds (for `--dry-run` and `bgremove review`), and `meta` holds
IN_DIR, where the review finds the originals. A manifest can be opened read-only
(`Manifest.open_readonly`): a dry run or a review changes nothing.

Manifests written before output sizes were recorded are upgraded in place: such a row's outputs
are checked once for a complete file (format trailer) and their sizes recorded, so an upgrade
redoes only outputs that are damaged.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
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
CREATE TABLE IF NOT EXISTS failures (
    rel BLOB PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, error TEXT NOT NULL,
    failed_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# Columns added after the first release, upgraded in place (older versions ignore them).
_LATER_COLUMNS = {"sizes": "TEXT", "model_key": "TEXT", "coverage": "REAL", "flags": "TEXT"}


@dataclass(frozen=True)
class Row:
    """One finished image as the manifest holds it."""

    rel: str
    size: int
    mtime_ns: int
    key: str  # every option that changes the output bytes, and the model
    outputs: list[str]
    sizes: list[int] | None  # None: a row from before sizes were recorded
    model_key: str | None = None  # set when the mask cache holds this image's mask
    coverage: float | None = None
    flags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Failure:
    rel: str
    size: int
    mtime_ns: int
    error: str


def _path_key(rel: str) -> bytes:
    # Bytes, not text: file names that are not valid UTF-8 (surrogate-escaped by Python) must
    # still get a row; SQLite would refuse them as TEXT.
    return rel.encode("utf-8", "surrogateescape")


def _path_text(key: bytes) -> str:
    return bytes(key).decode("utf-8", "surrogateescape")


def _row(values: dict) -> Row:
    flags = values.get("flags")
    return Row(_path_text(values["rel"]), values["size"], values["mtime_ns"], values["key"],
               json.loads(values["outputs"]),
               json.loads(values["sizes"]) if values.get("sizes") is not None else None,
               values.get("model_key"), values.get("coverage"), json.loads(flags) if flags else [])


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
                 out_root: Path | None = None, readonly: bool = False) -> None:
        """`out_dir`: where the database lives (OUT, or a URL OUT's local state folder).
        `size_of(rel_output)`: an output's size, None when missing (default: a file in out_dir).
        `out_root`: the local OUT whose files legacy rows are checked in (None: no check).
        `readonly`: see open_readonly."""
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / MANIFEST_NAME
        self._size_of = size_of or local_size(self.out_dir)
        self._out_root = out_root if size_of else self.out_dir
        self.warning: str | None = None
        self.readonly = readonly
        self._lock = threading.Lock()
        self._closed = threading.Event()
        if readonly:
            # No WAL file: no run holds the database, which is read as it is, without even
            # SQLite's companion files; otherwise SQLite needs them to see the latest rows.
            wal = self.path.with_name(MANIFEST_NAME + "-wal").exists()
            uri = f"{self.path.resolve().as_uri()}?mode=ro" + ("" if wal else "&immutable=1")
            self._db = sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)
            self._timer = None
            return
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as exc:
            # A damaged manifest must not block the catalog: set it aside and start over
            # (everything is processed once more, outputs are rewritten atomically).
            aside = self.path.with_name(f"{MANIFEST_NAME}.corrupt-{int(time.time())}")
            os.replace(self.path, aside)
            self.warning = f"manifest was unreadable ({exc}); moved to {aside.name}, starting fresh"
            self._db = self._open()
        self._dirty = False
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
        for name, kind in _LATER_COLUMNS.items():  # a manifest from an earlier version
            if name not in columns:
                db.execute(f"ALTER TABLE files ADD COLUMN {name} {kind}")
        db.commit()
        return db

    @classmethod
    def open_readonly(cls, out_dir: Path) -> Manifest | None:
        """The manifest of `out_dir` for reading only (nothing is created, upgraded or written;
        a run may be writing meanwhile), or None when there is none."""
        if not (Path(out_dir) / MANIFEST_NAME).is_file():
            return None
        try:
            return cls(out_dir, readonly=True)
        except sqlite3.Error:
            return None

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

    def _select(self, sql: str, args: tuple = ()) -> list[dict]:
        """Rows as dicts by column name: a read-only manifest of an older version may lack
        later columns or tables (then: no rows)."""
        with self._lock:
            try:
                cur = self._db.execute(sql, args)
            except sqlite3.OperationalError:
                return []
            names = [d[0] for d in cur.description]
            return [dict(zip(names, values, strict=True)) for values in cur.fetchall()]

    def row(self, rel: str) -> Row | None:
        found = self._select("SELECT * FROM files WHERE rel = ?", (_path_key(rel),))
        return _row(found[0]) if found else None

    def rows(self) -> Iterator[Row]:
        """Every finished image (a review; memory grows with the catalog)."""
        for values in self._select("SELECT * FROM files ORDER BY rel"):
            yield _row(values)

    def failure(self, rel: str) -> Failure | None:
        found = self._select("SELECT size, mtime_ns, error FROM failures WHERE rel = ?",
                             (_path_key(rel),))
        return Failure(rel, **found[0]) if found else None

    def failures(self) -> list[Failure]:
        return [Failure(_path_text(v.pop("rel")), **v)
                for v in self._select("SELECT rel, size, mtime_ns, error FROM failures ORDER BY rel")]

    def is_done(self, rel: str, size: int, mtime_ns: int, key: str, outputs: list[str]) -> bool:
        """True when `rel` was processed with these stats and options and its outputs are all
        there, each with the size it was written with."""
        row = self.row(rel)
        return row is not None and (row.size, row.mtime_ns, row.key, row.outputs) == (
            size, mtime_ns, key, outputs) and self.outputs_intact(row)

    def outputs_intact(self, row: Row) -> bool:
        """Every output of `row` is there with the size it was written with."""
        now = [self._size_of(o) for o in row.outputs]
        if row.sizes is not None:
            return now == row.sizes
        if None in now or not all(self._complete(o) for o in row.outputs):
            return False
        if not self.readonly:  # a legacy row whose outputs look whole: record their sizes
            with self._lock:
                self._db.execute("UPDATE files SET sizes = ? WHERE rel = ?",
                                 (json.dumps(now), _path_key(row.rel)))
                self._dirty = True
        return True

    def _complete(self, rel_output: str) -> bool:
        return self._out_root is None or looks_complete(self._out_root / rel_output)

    def record(self, rel: str, size: int, mtime_ns: int, key: str, outputs: list[str],
               sizes: list[int] | None = None, model_key: str | None = None,
               coverage: float | None = None, flags: list[str] | None = None) -> None:
        """Note that every output of `rel` was written, `sizes` bytes each (None: as they are
        on disk now); committed by the timer (see flush). `model_key`: the mask cache holds
        this image's mask made with that model. A failure recorded before is forgotten."""
        if sizes is None:
            sizes = [self._size_of(o) for o in outputs]
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO files (rel, size, mtime_ns, key, outputs, done_at, sizes, "
                "model_key, coverage, flags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (_path_key(rel), size, mtime_ns, key, json.dumps(outputs), time.time(),
                 json.dumps(sizes), model_key, coverage, json.dumps(flags or [])),
            )
            self._db.execute("DELETE FROM failures WHERE rel = ?", (_path_key(rel),))
            self._dirty = True

    def record_failure(self, rel: str, size: int, mtime_ns: int, error: str) -> None:
        """Note that `rel` (this version of it) failed, and why; every run still retries it."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?, ?)",
                             (_path_key(rel), size, mtime_ns, error, time.time()))
            self._dirty = True

    def set_meta(self, name: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))
            self._dirty = True

    def meta(self, name: str) -> str | None:
        found = self._select("SELECT value FROM meta WHERE name = ?", (name,))
        return found[0]["value"] if found else None

    def flush(self) -> None:
        if self.readonly:
            return
        with self._lock:
            self._commit()

    def close(self) -> None:
        self._closed.set()
        if self._timer is not None:
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
        if self.readonly:
            return digest
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO weights VALUES (?, ?, ?, ?)",
                (str(path), st.st_size, st.st_mtime_ns, digest),
            )
            self._commit()
        return digest
