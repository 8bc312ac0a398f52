"""What a review shows, and in which order: failed images, then flagged ones, then the rest.

From OUT_DIR's manifest (every image it knows: the ones that finished, with their coverage and
flags, and the ones whose last attempt failed, with the reason), or from a run's JSONL report
(only that run's images; a skipped image's coverage and flags come from the manifest). Images
whose input no longer exists under IN_DIR are left out.

Order, worst first: failed images (by path); then flagged images by the worst of their flags
(SEVERITY: nothing found, background kept, uncertain, damaged file, touching the frame, too
small for the canvas), more flags before fewer, then by path; then the rest by path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from bgremove.batch import maskcache
from bgremove.batch.manifest import Manifest, Row
from bgremove.batch.report import ImageResult
from bgremove.errors import ConfigError

SEVERITY = {"empty_mask": 60, "full_frame": 50, "uncertain_mask": 40, "damaged_input": 30,
            "touches_border": 20, "upscale_capped": 10}


@dataclass
class Item:
    rel: str  # relative to IN_DIR
    failed: bool
    error: str | None = None
    coverage: float | None = None
    flags: list[str] = field(default_factory=list)
    original: Path | None = None  # the input, when it still exists
    outputs: list[Path] = field(default_factory=list)  # what the run wrote for it
    mask: Path | None = None  # the cached mask or the mask output, when there is one

    @property
    def severity(self) -> int:
        return max((SEVERITY.get(f, 1) for f in self.flags), default=0)


@dataclass
class Review:
    out_dir: Path
    in_dir: Path | None
    failed: list[Item]
    flagged: list[Item]
    rest: list[Item]


def collect(out_dir: Path, report: Path | None = None) -> Review:
    """The items of OUT_DIR's review (module docstring). ConfigError when OUT_DIR has no
    manifest (no run wrote there) or the report cannot be read."""
    out_dir = Path(out_dir)
    manifest = Manifest.open_readonly(out_dir)
    if manifest is None:
        raise ConfigError(f"{out_dir} holds no bgremove manifest: run `bgremove run IN {out_dir}` "
                          "first (a review reads what a run recorded)")
    try:
        in_text = manifest.meta("in_dir")
        in_dir = Path(in_text) if in_text else None
        items = _from_report(report, manifest) if report else _from_manifest(manifest)
    finally:
        manifest.close()
    review = Review(out_dir, in_dir, [], [], [])
    for item in items:
        if not _locate(item, out_dir, in_dir):
            continue  # the input is gone: nothing left to review
        bucket = review.failed if item.failed else review.flagged if item.flags else review.rest
        bucket.append(item)
    review.failed.sort(key=lambda i: i.rel)
    review.flagged.sort(key=lambda i: (-i.severity, -len(i.flags), i.rel))
    review.rest.sort(key=lambda i: i.rel)
    return review


def _item(row: Row, out_dir: Path) -> Item:
    mask = None
    if row.model_key is not None:
        mask = Path(maskcache.cache_path(str(out_dir), row.rel, row.size, row.mtime_ns,
                                         row.model_key))
    return Item(row.rel, False, coverage=row.coverage, flags=list(row.flags),
                outputs=[out_dir / o for o in row.outputs], mask=mask)


def _from_manifest(manifest: Manifest) -> list[Item]:
    failures = {f.rel: f for f in manifest.failures()}
    items = [_item(row, manifest.out_dir) for row in manifest.rows() if row.rel not in failures]
    return items + [Item(f.rel, True, error=f.error) for f in failures.values()]


def _from_report(report: Path, manifest: Manifest) -> list[Item]:
    try:
        lines = Path(report).read_text(encoding="utf-8").splitlines()
        results = [ImageResult.from_json(line) for line in lines if line.strip()]
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"cannot read the report {report}: {exc}") from None
    items = []
    for r in results:
        row = manifest.row(r.path)
        if r.status == "failed":
            items.append(Item(r.path, True, error=r.error))
        elif r.status == "skipped" and row is not None:
            items.append(_item(row, manifest.out_dir))
        elif r.status == "ok":
            item = _item(row, manifest.out_dir) if row is not None else Item(r.path, False)
            item.coverage, item.flags = r.coverage, list(r.flags)
            item.outputs = [manifest.out_dir / o for o in r.outputs]
            items.append(item)
    return items


def _locate(item: Item, out_dir: Path, in_dir: Path | None) -> bool:
    """Fill in the files the page shows; False when the input itself is gone."""
    if in_dir is not None:
        original = in_dir / item.rel
        if not os.path.lexists(original):
            return False
        item.original = original
    item.outputs = [o for o in item.outputs if o.is_file()]
    if item.mask is not None and not item.mask.is_file():
        item.mask = None
    if item.mask is None:
        item.mask = next((o for o in item.outputs if o.name.endswith(".mask.png")), None)
    return True

