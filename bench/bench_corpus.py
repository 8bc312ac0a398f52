"""The hostile-file corpus (tests/malformed.py) through `bgremove run`, counted per group.

    python bench/bench_corpus.py             # stand-in model (bgremove.inference.testing), 1 worker
    python bench/bench_corpus.py --model     # the bundled weights, 2 worker processes

Prints, for each group of the corpus: files, processed, failed, flagged damaged_input, reported
with warnings only, crashes (a failure that names an exception class or a dead worker instead of
the file's problem), and the files nobody reported. For the "blind" group (a flipped byte in data
without a checksum) the unreported ones are split into harmless (exactly the pixels of the
file they were made from) and undetectable (other pixels, and no decoder complained).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
_CRASH = re.compile(r"^[A-Z]\w*(Error|Exception|Warning)\b|worker process died")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="store_true", help="bundled weights, 2 workers")
    args = ap.parse_args()
    from bgremove.batch.driver import run
    from bgremove.batch.options import RunOptions
    from bgremove.imaging.outputs import OutputOptions
    from bgremove.imaging.read import read_image
    from bgremove.inference.testing import fake_backend
    from tests.malformed import build

    with tempfile.TemporaryDirectory(prefix="bgremove-corpus-") as tmp:
        root = Path(tmp)
        kinds, origin = build(root / "in")
        kw = {"workers": 2} if args.model else {"backend_factory": fake_backend, "workers": 1}
        start = time.monotonic()
        summary = run(RunOptions(root / "in", root / "out", progress="quiet",
                                 report=root / "r.jsonl",
                                 output=OutputOptions(mask=True, bg_color="white"), **kw))
        elapsed = time.monotonic() - start
        report = {d["path"]: d for d in map(json.loads, (root / "r.jsonl").open())}
        print(f"{len(kinds)} files ({sum(k != 'valid' for k in kinds.values())} malformed), "
              f"{elapsed:.1f} s, exit code {summary.exit_code}")
        for group in ("valid", "bad", "blind"):
            rows = [report[p] for p, k in kinds.items() if k == group]
            c = Counter()
            for d in rows:
                c[d["status"]] += 1
                c["flagged"] += "damaged_input" in d["flags"]
                c["notes"] += d["status"] == "ok" and bool(d["warnings"]) \
                    and "damaged_input" not in d["flags"]
                c["crash"] += d["status"] == "failed" and bool(_CRASH.search(d["error"] or ""))
                c["unreported"] += d["status"] == "ok" and not d["warnings"]
            print(f"  {group:6} {len(rows):4} files: {c['ok']} processed, {c['failed']} failed, "
                  f"{c['flagged']} flagged damaged_input, {c['notes']} with warnings only, "
                  f"{c['crash']} crashes, {c['unreported']} processed with nothing to report")
            if group == "blind":
                silent = [p for p, k in kinds.items() if k == group and report[p]["status"] == "ok"
                          and not report[p]["warnings"]]
                same = sum(_same(root / "in" / p, root / "in" / origin[p], read_image)
                           for p in silent)
                print(f"         of the unreported: {same} harmless (same pixels as the "
                      f"original), {len(silent) - same} undetectable (other pixels)")


def _same(a: Path, b: Path, read_image) -> bool:
    x, y = read_image(str(a)).rgb, read_image(str(b)).rgb
    return x.shape == y.shape and bool(np.array_equal(x, y))


if __name__ == "__main__":
    main()
