"""naming.assign_bases: the output-name rule is collision-free by construction."""

from __future__ import annotations

import os
import random

from bgremove.batch.naming import assign_bases
from bgremove.imaging.outputs import OutputOptions, output_names

SUFFIXES = [".png", ".mask.png"]


def test_the_rules_in_order():
    assert assign_bases(["red.jpg", "blue.png"], [], SUFFIXES) == {"red.jpg": "red",
                                                                    "blue.png": "blue"}
    # stems clash: both by whole name; a.jpg.png's stem would clash with a.jpg's whole name
    assert assign_bases(["a.jpg", "a.png", "a.jpg.png"], [], SUFFIXES) == {
        "a.jpg": "a.jpg", "a.png": "a.png", "a.jpg.png": "a.jpg.png"}
    # red.mask.jpg's cutout would be red.jpg's mask
    assert assign_bases(["red.jpg", "red.mask.jpg"], [], SUFFIXES) == {
        "red.jpg": "red.jpg", "red.mask.jpg": "red.mask.jpg"}
    assert assign_bases(["red.jpg"], ["red.png"], [".png"]) == {"red.jpg": "red.jpg"}
    # letter case only: whole names clash too (case-insensitive filesystems), so ~N
    assert assign_bases(["A.jpg", "a.jpg", "b.jpg"], [], SUFFIXES) == {
        "A.jpg": "A.jpg~2", "a.jpg": "a.jpg~3", "b.jpg": "b"}


def test_output_names_collision_free_on_random_folders():
    rng = random.Random(15)
    parts = ["a", "A", "red", "b", ".mask", ".bg", ".png", ".jpg", ".PNG", ".webp", "~2", " "]
    exts = [".jpg", ".png", ".JPG", ".webp", ".tif", ".jpeg"]
    for trial in range(400):
        names = {"".join(rng.choices(parts, k=rng.randint(1, 4))) + rng.choice(exts)
                 for _ in range(rng.randint(1, 12))}
        if trial % 50 == 0:
            names.add("x" * 251 + ".jpg")  # a name at the 255-byte limit
        dirs = {"".join(rng.choices(parts, k=rng.randint(1, 3))) for _ in range(rng.randint(0, 3))}
        names -= dirs
        for options in (OutputOptions(), OutputOptions(mask=True, bg_color="white",
                                                       composite_format="png", cutout_format="webp")):
            suffixes = list(output_names("", options).values())
            bases = assign_bases(names, dirs, suffixes)
            outs = [(b + s).casefold() for b in bases.values() for s in suffixes]
            assert len(set(outs)) == len(outs), (names, bases)
            assert not set(outs) & {d.casefold() for d in dirs}
            assert all(len(os.fsencode(o)) <= 255 for o in outs)
            assert assign_bases(sorted(names, reverse=True), dirs, suffixes) == bases


