"""Worker heaps keep freed memory: the next image's buffers cost no page faults."""

from __future__ import annotations

import subprocess
import sys

import pytest

# One "image": buffers of catalog-photo sizes allocated, touched and freed; then five more.
_IMAGES = """
import resource, sys
import numpy as np
if sys.argv[1] == "worker":
    import ctypes
    from bgremove.batch.worker import worker_init
    worker_init()
    print(hasattr(ctypes.CDLL(None), "mallopt"))  # False: not glibc, nothing to test
def image():
    bufs = [np.ones(n << 20, np.uint8) for n in (6, 8, 24, 6, 12)]
    return sum(int(b[::4096].sum()) for b in bufs)
image()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    image()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", _IMAGES, mode], capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    if out[0] == "False":
        pytest.skip("this C library has no mallopt (not glibc)")
    return int(out[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_worker_heap_reuses_freed_buffers():
    # 56 MiB per image: with glibc's defaults most of it comes back from the kernel each time.
    worker = _faults("worker")
    assert _faults("plain") > 5000
    assert worker < 500
