"""`bgremove run --dry-run`: what a run would do with each image, and why, writing nothing.

One line per image on standard output, `<what>  <path>  (<why>)`, where what is `new`,
`changed`, `unchanged` or `failed before` (plan.py takes the decisions, the same way a run
does), and a count of each on standard error. The configuration is checked as for a run (exit
code 2 on a bad option, a missing IN or missing weights); the manifest is opened read-only,
OUT_DIR is neither created nor locked, no model is loaded.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TextIO

from bgremove.batch import storage
from bgremove.batch.discover import DiscoveryStats, Found
from bgremove.batch.manifest import Manifest
from bgremove.batch.options import RunOptions, check_paths
from bgremove.batch.plan import CHANGED, FAILED, NEW, UNCHANGED, model_identity, plan, run_keys, weights_file

_REUSED = "cached masks"
_UNREADABLE = "unreadable"


@dataclass
class PlanSummary:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        (NEW, CHANGED, UNCHANGED, FAILED, _UNREADABLE, _REUSED), 0))
    ignored: int = 0
    excluded: int = 0

    def line(self) -> str:
        c = self.counts
        return (f"bgremove: dry run: {c[NEW]} new, {c[CHANGED]} changed ({c[_REUSED]} from cached "
                f"masks, no network pass), {c[UNCHANGED]} unchanged, {c[FAILED]} failed before"
                + (f", {c[_UNREADABLE]} unreadable" if c[_UNREADABLE] else "") + "; "
                f"{self.ignored} non-image files ignored, {self.excluded} excluded; nothing was "
                "written")


def dry_run(options: RunOptions, out: TextIO | None = None) -> PlanSummary:
    """List what `run(options)` would do (module docstring); returns the counts."""
    out = out or sys.stdout
    options.validate()
    in_dir, out_dir = check_paths(options)
    weights = weights_file(options)
    manifest = Manifest.open_readonly(storage.state_dir(out_dir, create=False))
    summary, stats = PlanSummary(), DiscoveryStats()
    try:
        keys = run_keys(options, model_identity(options, weights, manifest))
        for item in plan(options, in_dir, out_dir, manifest, keys, stats):
            if isinstance(item, Found):  # could not be listed or stat'ed: the run fails it
                what, rel, why = _UNREADABLE, item.rel, item.error
            else:
                what, rel, why = item.decision.state, item.found.rel, item.decision.reason
                summary.counts[_REUSED] += item.decision.reuse is not None
            summary.counts[what] += 1
            out.write(f"{what:<13} {rel}  ({why})\n")
    finally:
        if manifest is not None:
            manifest.close()
    out.flush()
    summary.ignored, summary.excluded = stats.ignored, stats.excluded
    return summary
