"""Unlabelled photo collections for teacher labelling, extracted from public git repositories.

    python -m train.photo_sources                 # all sources -> cache/photos/<name>/
    python -m train.photo_sources clothing --git-dir clothing=/path/to/clothing-dataset.git

Each source names its repository, the exact commit, the folder inside it and the number of
photos expected there. A repository is read with plain git (no checkout needed: `git archive` of
one folder at that commit), from `--git-dir NAME=DIR` or from `<mirror-root>/<owner>+<repo>/repo`
(how this project's tools store a snapshot; `git clone --bare` works as well). The photos are
written flat (`<sub>__<folder>__<file>.jpg`, so stems stay unique), every one is decoded once, and
`SOURCE.txt` records the repository, commit, folder, counts and the files that would not decode.
Nothing here is committed to this repository: the photos are a cache, like the labels.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class PhotoSource:
    name: str
    repo: str  # owner/name on GitHub
    commit: str
    folder: str
    expected: int  # photos under `folder` at `commit`, after `exclude`
    terms: str
    exclude: tuple[str, ...] = ()  # sub-folders of `folder` left out

    @property
    def url(self) -> str:
        return f"https://github.com/{self.repo}"


SOURCES: dict[str, PhotoSource] = {
    s.name: s
    for s in (
        PhotoSource("clothing", "alexeygrigorev/clothing-dataset",
                    "7ed86a9cc56763b6acb35e41cb35184e43a5d218", "images", 5756,
                    "the repository's README: free to use for any purpose, commercial included"),
        # BACKGROUND_Google is Caltech's "no object" class: clutter, nothing to cut out.
        PhotoSource("caltech101", "MachineLearning2020/Homework2-Caltech101",
                    "836044dd000296b2bb74d0aa4b4e462e459b01d7", "101_ObjectCategories", 8677,
                    "Caltech 101 (Fei-Fei, Fergus, Perona 2004): published for research use",
                    exclude=("BACKGROUND_Google",)),
        PhotoSource("grocery", "marcusklasson/GroceryStoreDataset",
                    "fc80ba90f803d79d0383df52c5a4ac5de99ff6fc", "dataset", 5502,
                    "Grocery Store Dataset (Klasson et al. 2019), its LICENSE file: research use"),
    )
}


def mirror_git_dir(source: PhotoSource, mirror_root: Path) -> Path:
    base = mirror_root / source.repo.replace("/", "+") / "repo"
    return base / ".git" if (base / ".git").is_dir() else base


def flat_name(relative: str) -> str:
    """'Fruit/Apple/x.jpg' -> 'Fruit__Apple__x.jpg': one folder, stems unique."""
    return "__".join(Path(relative).parts)


def archive_members(git_dir: Path, source: PhotoSource):
    """(path inside `folder`, bytes) for every photo of the folder at the pinned commit."""
    cmd = ["git", f"--git-dir={git_dir}", "archive", "--format=tar", source.commit, source.folder]
    tar_bytes = subprocess.run(cmd, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        for member in tar:
            rel = Path(member.name).relative_to(source.folder)
            if not member.isfile() or not member.name.lower().endswith(IMAGE_SUFFIXES):
                continue
            if rel.parts and rel.parts[0] in source.exclude:
                continue
            yield str(rel), tar.extractfile(member).read()


def decodes(data: bytes) -> bool:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return img is not None and min(img.shape[:2]) >= 16


def extract(source: PhotoSource, git_dir: Path, out_root: Path) -> Path:
    """Write the source's photos to out_root/<name>/ and its SOURCE.txt; returns the folder."""
    out = out_root / source.name
    done = out / "SOURCE.txt"
    if done.exists():
        print(f"{source.name}: already extracted ({out})")
        return out
    out.mkdir(parents=True, exist_ok=True)
    found, broken = 0, []
    for rel, data in archive_members(git_dir, source):
        found += 1
        if not decodes(data):
            broken.append(rel)
            continue
        target = out / flat_name(rel)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    if found != source.expected:
        raise SystemExit(f"{source.name}: {found} photos at {source.commit[:8]}/{source.folder}, "
                         f"expected {source.expected}: wrong commit or repository?")
    lines = [f"repository: {source.url}", f"commit: {source.commit}", f"folder: {source.folder}",
             f"excluded: {', '.join(source.exclude) or '-'}", f"terms: {source.terms}",
             f"photos: {found - len(broken)} of {found} ({len(broken)} would not decode)",
             *(f"undecodable: {rel}" for rel in broken)]
    done.write_text("\n".join(lines) + "\n")  # written last: marks a complete extraction
    print(f"{source.name}: {found - len(broken)} photos -> {out} ({len(broken)} undecodable)")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.photo_sources", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help=f"sources to extract (default: all of {list(SOURCES)})")
    ap.add_argument("--out", type=Path, default=Path("cache/photos"))
    ap.add_argument("--mirror-root", type=Path,
                    default=Path(os.environ.get("BGREMOVE_MIRROR", "/work/.mirror")))
    ap.add_argument("--git-dir", action="append", default=[], metavar="NAME=DIR",
                    help="where one source's repository is (a bare clone works)")
    args = ap.parse_args(argv)
    given = dict(spec.split("=", 1) for spec in args.git_dir)
    unknown = sorted(set(args.names) - set(SOURCES))
    if unknown:
        ap.error(f"unknown sources {unknown}; known: {list(SOURCES)}")
    for name in args.names or list(SOURCES):
        source = SOURCES[name]
        git_dir = Path(given[name]) if name in given else mirror_git_dir(source, args.mirror_root)
        if not git_dir.exists():
            print(f"{name}: no repository at {git_dir}; clone {source.url} and pass "
                  f"--git-dir {name}=DIR", file=sys.stderr)
            return 2
        extract(source, git_dir, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
