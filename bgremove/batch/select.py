"""Which of the images found under IN_DIR a run takes: `--include` / `--exclude` patterns.

Shell-style patterns (`*`, `?`, `[...]`), letter case ignored as for extensions. A pattern with a
`/` is matched against the image's path relative to IN_DIR (`shoes/*` takes everything under
shoes/, since `*` also matches `/`); one without is matched against the file name alone
(`*.png`, `*_thumb.*`). An image is taken when it matches at least one include pattern (or none
is given) and no exclude pattern. Excluded images are counted, never touched, and their
outputs are not stale: output names are still worked out over the whole folder, so they do not
change with the patterns.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass


def _matches(rel: str, pattern: str) -> bool:
    target = rel if "/" in pattern else posixpath.basename(rel)
    return fnmatch.fnmatchcase(target.casefold(), pattern.casefold())


@dataclass(frozen=True)
class Selection:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @classmethod
    def of(cls, include: Sequence[str] | None, exclude: Sequence[str] | None) -> Selection:
        return cls(tuple(include or ()), tuple(exclude or ()))

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)

    def wants(self, rel: str) -> bool:
        """Whether the image at `rel` (POSIX, relative to IN_DIR) is taken."""
        if self.include and not any(_matches(rel, p) for p in self.include):
            return False
        return not any(_matches(rel, p) for p in self.exclude)
