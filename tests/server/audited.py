"""`bgremove` with a Python audit hook that prints every file the process opens:
`AUDIT <unix time> <r|w> <path>` on stderr. Tests run the server through it to show that no request
makes it open any file (C libraries' own opens are not seen; Python's, tempfile's included, are)."""

from __future__ import annotations

import os
import sys
import time

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _hook(event: str, args: tuple) -> None:
    if event != "open":
        return
    path, mode, flags = args
    if isinstance(path, int):
        return  # an fd already open (sockets, pipes): no file by name
    writes = bool(mode and any(c in mode for c in "wax+")) or bool((flags or 0) & _WRITE_FLAGS)
    sys.__stderr__.write(f"AUDIT {time.time():.3f} {'w' if writes else 'r'} {path}\n")


if __name__ == "__main__":
    sys.addaudithook(_hook)
    from bgremove.__main__ import main

    sys.argv[0] = "bgremove"
    main()
