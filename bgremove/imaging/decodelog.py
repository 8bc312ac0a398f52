"""What decoders say about a file, caught for that image's report instead of printed.

C decoders report damage they work around on the process's stderr (libjpeg: "Corrupt JPEG data:
premature end of data segment", then grey blocks; libtiff: "TIFFReadDirectory: Warning, ..."),
and PIL raises Python warnings (corrupt EXIF data, DecompressionBombWarning). `listened(fn)`
runs one decode with file descriptor 2 pointed at a private file and Python warnings collected
for the calling thread, and returns what was said: nothing reaches the terminal, and every
message lands in the image's report line.

Threads (the GPU path decodes in a pool): fd 2 belongs to the whole process, so it stays
redirected while any decode runs. A decode during which bytes appeared while another overlapped
it cannot tell whose they are; it runs once more alone, which settles it. Damaged files are rare,
so repeats are too, and decodes otherwise run in parallel. The run's own output never goes
through fd 2 meanwhile (progress.Progress writes to a duplicate of it taken before any decode).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_state = threading.Condition()
_active = 0  # decodes running side by side
_entries = 0  # decodes started so far: a change during a window means someone overlapped it
_alone_wanted = 0  # repeats waiting for the process to themselves
_alone_running = False
_capture: int | None = None  # the private file fd 2 points at during decodes
_saved: int | None = None  # the real fd 2 meanwhile
_local = threading.local()
_original_showwarning = warnings.showwarning
# A Python warning printed by some other thread (formatwarning's layout), not a decoder message.
_PY_WARNING = re.compile(r"^\S.*:\d+: \w*Warning: ")


def listened(fn: Callable[[], T]) -> tuple[T, list[str], list[str]]:
    """(fn(), what C decoders printed, the Python warnings raised), both as lists of lines."""
    _hook_warnings()
    token = _enter()
    _local.sink = []
    try:
        result = fn()
    finally:
        said, alone = _leave(token)
        caught, _local.sink = _local.sink, None
    if said and not alone:
        result, said, caught = _alone(fn)
    return result, _lines(said), caught


def _enter() -> tuple[int, bool, int]:
    global _active, _entries
    with _state:
        while _alone_running or _alone_wanted:
            _state.wait()
        if _active == 0:
            _redirect()
        _active += 1
        _entries += 1
        return _entries, _active > 1, os.fstat(_capture).st_size


def _leave(token: tuple[int, bool, int]) -> tuple[bytes, bool]:
    global _active
    entries, overlapped, start = token
    with _state:
        said = os.pread(_capture, os.fstat(_capture).st_size - start, start)
        alone = not overlapped and _entries == entries
        _active -= 1
        if _active == 0:
            _restore()
        _state.notify_all()
    return said, alone


def _alone(fn: Callable[[], T]) -> tuple[T, bytes, list[str]]:
    global _alone_wanted, _alone_running
    with _state:
        _alone_wanted += 1
        while _active or _alone_running:
            _state.wait()
        _alone_wanted -= 1
        _alone_running = True
        _redirect()
    _local.sink = []
    try:
        result = fn()
    finally:
        with _state:
            said = os.pread(_capture, os.fstat(_capture).st_size, 0)
            _restore()
            _alone_running = False
            _state.notify_all()
        caught, _local.sink = _local.sink, None
    return result, said, caught


def _redirect() -> None:
    global _capture, _saved
    if _capture is None:
        _capture, path = tempfile.mkstemp(prefix="bgremove-decoder-", suffix=".log")
        os.unlink(path)  # only the descriptor is needed
    if sys.stderr is not None:
        try:
            sys.stderr.flush()  # Python's own pending text belongs to the terminal
        except (OSError, ValueError):
            pass
    _saved = os.dup(2)
    os.dup2(_capture, 2)


def _restore() -> None:
    global _saved
    os.dup2(_saved, 2)
    os.close(_saved)
    _saved = None
    os.ftruncate(_capture, 0)
    os.lseek(_capture, 0, os.SEEK_SET)  # fd 2 shared this offset: the next text starts at 0


def _lines(said: bytes) -> list[str]:
    out, source_line = [], False
    for raw in said.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if _PY_WARNING.match(raw):
            source_line = True  # formatwarning adds the indented source line next
        elif line and not (source_line and raw.startswith(" ")):
            out.append(line)
            source_line = False
    return out


def _hook_warnings() -> None:
    """Route Python warnings raised while a thread decodes into that thread's list; others keep
    their usual way. Installed again when a warnings.catch_warnings block reset it."""
    global _original_showwarning
    if warnings.showwarning is not _showwarning:
        _original_showwarning = warnings.showwarning
        warnings.showwarning = _showwarning
        # Every occurrence, not once per code location: each image's report needs its own.
        warnings.filterwarnings("always", module=r"(PIL|bgremove)(\.|$)")


def _showwarning(message, category, filename, lineno, file=None, line=None) -> None:
    sink = getattr(_local, "sink", None)
    if sink is None:
        _original_showwarning(message, category, filename, lineno, file, line)
    else:
        sink.append(f"{category.__name__}: {message}")
