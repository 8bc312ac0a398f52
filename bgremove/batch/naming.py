"""Output names: the base each image's outputs are named after, collision-free by construction.

An image's outputs are its base plus one suffix per output (outputs.output_names: `.png`,
`.mask.png`, `.jpg` or `.bg.png`, ...). Within one folder (outputs mirror the input tree, so
folders never share outputs), letter case ignored as on case-insensitive filesystems:

1. stem: `red.jpg` -> `red.png`, when none of its output names is an output name that any other
   image of the folder could get by rule 1 or 2, nor the name of a subfolder;
2. otherwise the whole file name: `red.jpg` -> `red.jpg.png`, when none of its names is another
   image's rule-2 name nor a subfolder's name;
3. otherwise the whole file name and `~N`: `red.jpg~2.png`, N the smallest number from 2 whose
   names are still free, images taken in sorted order.

A rule applies only if every name it gives fits in 255 bytes (the filesystem's limit); rule 3
shortens the file name as far as needed (`<first bytes>~N.mask.png`).

Why this cannot collide: a rule-1 name is checked against every rule-1 and rule-2 name of the
folder; a rule-2 name against every rule-2 name (and rule-1 names were checked against it);
rule 3 takes only names nobody holds. The same folder listing gives the same names, run after
run. Adding or renaming files can change the base of the images whose names then clash (their
old outputs become stale: `bgremove run --stale list`).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence

NAME_MAX = 255  # bytes


def _names(base: str, suffixes: Sequence[str]) -> set[str]:
    return {(base + s).casefold() for s in suffixes}


def _fits(base: str, suffixes: Sequence[str]) -> bool:
    return all(len(os.fsencode(base + s)) <= NAME_MAX for s in suffixes)


def _shortened(name: str, k: int, suffixes: Sequence[str]) -> str:
    """`name~k`, with `name` cut (in whole characters) until its longest output name fits."""
    tail = f"~{k}"
    room = NAME_MAX - max(len(os.fsencode(s)) for s in suffixes) - len(tail)
    while len(os.fsencode(name)) > max(room, 1):
        name = name[:-1]
    return name + tail


def stem(name: str) -> str:
    return os.path.splitext(name)[0]


def assign_bases(images: Iterable[str], subdirs: Iterable[str],
                 suffixes: Sequence[str]) -> dict[str, str]:
    """{image file name: base} for the images of one folder (see the module docstring).

    `subdirs`: the folder's subfolder names (they are mirrored as folders in OUT_DIR);
    `suffixes`: what each output adds to the base (outputs.output_names("", options))."""
    images = sorted(images)
    reserved = {d.casefold() for d in subdirs}
    by_stem = {n: _names(stem(n), suffixes) for n in images}
    by_name = {n: _names(n, suffixes) for n in images}
    anywhere = Counter(x for n in images for x in by_stem[n] | by_name[n])
    whole = Counter(x for n in images for x in by_name[n])
    bases: dict[str, str] = {}
    for n in images:  # a count of 1 is the image itself: each image counts once per name
        if all(anywhere[x] == 1 for x in by_stem[n]) and not by_stem[n] & reserved \
                and _fits(stem(n), suffixes):
            bases[n] = stem(n)
        elif all(whole[x] == 1 for x in by_name[n]) and not by_name[n] & reserved \
                and _fits(n, suffixes):
            bases[n] = n
    taken = set(reserved)
    for base in bases.values():
        taken |= _names(base, suffixes)
    for n in images:
        if n not in bases:
            k = 2
            while _names(_shortened(n, k, suffixes), suffixes) & taken:
                k += 1
            bases[n] = _shortened(n, k, suffixes)
            taken |= _names(bases[n], suffixes)
    return bases

