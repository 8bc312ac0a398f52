"""A worker's heap keeps the memory it frees for the next image.

Each image allocates the same large buffers (decoded pixels, float planes, the encoded PNG) and
frees them. With glibc's defaults a buffer over the dynamic mmap threshold, or freed memory at
the top of the heap beyond the trim threshold, goes back to the kernel, and the next image takes
it again page by page: on 48 catalog photos (bench/bench_run.py's folder) that was ~290,000 page
faults and ~1.9 s of kernel time across two workers. Raising both thresholds (mmap at its 32 MiB
maximum, trimming only beyond 1 GiB, 64 MiB of padding when the heap grows) cut them to ~165,000
and the kernel time to ~1.1 s; the run through the library took 7.9 s instead of 8.7 (medians of
3 alternated runs; through the CLI the difference was within the machine's noise). Memory stays
bounded: a worker keeps what its largest image needed, not a sum over the folder (peak RSS for
1000 photos over that for 100, bench_run.py --rss-scaling: 1.105, 0.967, 1.028; before: 1.000,
0.995; the peaks themselves 1136-1197 MiB against 1163-1168).

glibc only (mallopt through ctypes); elsewhere, or if it is missing, nothing changes.
"""

from __future__ import annotations

import ctypes
import sys

# <malloc.h> parameter numbers and the values chosen above
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
SETTINGS = {
    _M_MMAP_THRESHOLD: 32 << 20,  # glibc's upper limit on 64-bit; larger blocks are still mmapped
    _M_TRIM_THRESHOLD: 1 << 30,
    _M_TOP_PAD: 64 << 20,
}


def keep_freed_memory() -> bool:
    """Apply SETTINGS to this process's glibc heap; False where that is not possible."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # musl and other C libraries have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return all(mallopt(param, value) == 1 for param, value in SETTINGS.items())
