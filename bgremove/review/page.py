"""The review page: one self-contained HTML file (inline style, thumbnails as data: URIs, no
script, nothing fetched), written atomically.

Sections, worst first (collect.py): failed images, each with its reason and its original when
it can be shown; flagged images, each as original | cutout on a checkerboard | mask, with its
flags and coverage; then the rest, folded away: by name only, or with their thumbnails too
when asked (`bgremove review --all`; a catalog's unflagged thousands would make the page big).
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from pathlib import Path

from bgremove.review import thumbs
from bgremove.review.collect import Item, Review, collect

PAGE_NAME = "review.html"
_NONE = "<p class='meta'>None.</p>"

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.4em;margin:0 0 .3em} h2{font-size:1.15em;margin:1.6em 0 .6em}
.meta{color:#666;margin:0 0 1em} .counts span{margin-right:1.2em;font-weight:600}
.card{display:flex;gap:12px;align-items:flex-start;background:#fff;border:1px solid #ddd;
 border-radius:6px;padding:10px;margin:0 0 10px}
.card.failed{border-left:6px solid #c62828} .card.flagged{border-left:6px solid #ef6c00}
.card.ok{border-left:6px solid #2e7d32}
.info{flex:0 0 320px;word-break:break-all}
.path{font-family:ui-monospace,monospace;font-weight:600}
.reason{color:#c62828;margin-top:.3em} .flag{display:inline-block;background:#fff3e0;color:#e65100;
 border-radius:3px;padding:0 6px;margin:4px 4px 0 0;font-size:12px}
figure{margin:0;text-align:center;font-size:12px;color:#666}
figure img,.none{display:block;max-width:200px;max-height:200px;border:1px solid #ccc}
.none{width:200px;height:120px;line-height:120px;background:#eee;color:#999}
.checker{background-color:#fff;background-image:linear-gradient(45deg,#ccc 25%,transparent 25%),
 linear-gradient(-45deg,#ccc 25%,transparent 25%),linear-gradient(45deg,transparent 75%,#ccc 75%),
 linear-gradient(-45deg,transparent 75%,#ccc 75%);background-size:16px 16px;
 background-position:0 0,0 8px,8px -8px,-8px 0}
details summary{cursor:pointer;font-size:1.15em;font-weight:600;margin:1.6em 0 .6em}
"""


@dataclass
class PageSummary:
    path: Path
    failed: int
    flagged: int
    rest: int


def write_review(out_dir: Path, page: Path | None = None, report: Path | None = None,
                 show_all: bool = False) -> PageSummary:
    """Write the review page of OUT_DIR (default OUT_DIR/review.html); ConfigError when OUT_DIR
    has no manifest or the report cannot be read."""
    from bgremove.imaging.safewrite import write_atomic

    review = collect(Path(out_dir), report)
    page = Path(page) if page is not None else Path(out_dir) / PAGE_NAME
    write_atomic(page, render_page(review, show_all).encode("utf-8"))
    return PageSummary(page, len(review.failed), len(review.flagged), len(review.rest))


def render_page(review: Review, show_all: bool = False) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>bgremove review: {e(str(review.out_dir))}</title><style>{_STYLE}</style></head><body>",
        f"<h1>bgremove review</h1><p class='meta'>{e(str(review.out_dir))}"
        f"{' &larr; ' + e(str(review.in_dir)) if review.in_dir else ''} &middot; "
        f"{time.strftime('%Y-%m-%d %H:%M')}</p>",
        f"<p class='counts'><span id='n-failed'>{len(review.failed)} failed</span>"
        f"<span id='n-flagged'>{len(review.flagged)} flagged</span>"
        f"<span id='n-rest'>{len(review.rest)} without flags</span></p>",
        f"<h2 id='failed'>Failed ({len(review.failed)})</h2>",
        *([_card(i, "failed") for i in review.failed] or [_NONE]),
        f"<h2 id='flagged'>Flagged ({len(review.flagged)}), worst first</h2>",
        *([_card(i, "flagged") for i in review.flagged] or [_NONE]),
        f"<details id='rest'{' open' if show_all else ''}><summary>Without flags "
        f"({len(review.rest)})</summary>",
    ]
    if show_all:
        parts += [_card(i, "ok") for i in review.rest]
    else:
        parts.append("<p class='meta'>Thumbnails left out: <code>bgremove review --all</code> "
                     "includes them.</p><ul>")
        parts += [f"<li><span class='path'>{e(i.rel)}</span> {_coverage(i)}</li>"
                  for i in review.rest]
        parts.append("</ul>")
    parts.append("</details></body></html>")
    return "\n".join(parts)


def _coverage(item: Item) -> str:
    return f"coverage {item.coverage:.1%}" if item.coverage is not None else ""


def _figure(uri: str | None, caption: str, checker: bool = False) -> str:
    if uri is None:
        return f"<figure><div class='none'>not available</div>{caption}</figure>"
    cls = " class='checker'" if checker else ""
    return f"<figure><img{cls} src='{uri}' alt='{caption}'>{caption}</figure>"


def _card(item: Item, kind: str) -> str:
    e = html.escape
    info = [f"<div class='path'>{e(item.rel)}</div>"]
    if item.error:
        info.append(f"<div class='reason'>{e(item.error)}</div>")
    info += [f"<span class='flag'>{e(f)}</span>" for f in item.flags]
    if item.coverage is not None:
        info.append(f"<div>{_coverage(item)}</div>")
    figures = [_figure(thumbs.original(item.original), "original")]
    if not item.failed:
        figures += [_result_figure(item), _figure(_mask_uri(item), "mask")]
    return (f"<div class='card {kind}' data-path='{e(item.rel)}'><div class='info'>"
            f"{''.join(info)}</div>{''.join(figures)}</div>")


def _cutout(item: Item) -> Path | None:
    return next((o for o in item.outputs if not o.name.endswith(".mask.png")), None)


def _result_figure(item: Item) -> str:
    shown = [thumbs.output(o) for o in item.outputs if not o.name.endswith(".mask.png")]
    shown = [s for s in shown if s is not None]
    best = next((s for s in shown if s[1]), shown[0] if shown else None)  # a cutout if any
    if best is None:
        return _figure(None, "cutout")
    return _figure(best[0], "cutout" if best[1] else "composite", checker=best[1])


def _mask_uri(item: Item) -> str | None:
    if item.mask is not None:
        return thumbs.mask(item.mask)
    cutout = _cutout(item)
    return thumbs.alpha_of(cutout) if cutout is not None else None
