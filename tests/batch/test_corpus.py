"""A corpus of 700+ hostile files (tests/malformed.py) through `bgremove run`: nothing crashes,
every damaged file a decoder or a structure check can see is reported, sound files are done."""

from __future__ import annotations

import json
import re

import pytest
from malformed import build

from bgremove.batch.driver import run
from bgremove.batch.options import RunOptions
from bgremove.imaging.outputs import OutputOptions
from bgremove.inference.testing import fake_backend

# What a failure looks like when code broke instead of a file: an exception's class name
# (worker.failed_result's fallback) or a dead worker.
_CRASH = re.compile(r"^[A-Z]\w*(Error|Exception|Warning)\b|worker process died")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    kinds, origin = build(root / "in")
    summary = run(RunOptions(root / "in", root / "out", backend_factory=fake_backend, workers=1,
                             progress="quiet", report=root / "report.jsonl",
                             output=OutputOptions(mask=True, bg_color="white")))
    report = {d["path"]: d for d in map(json.loads, (root / "report.jsonl").open())}
    return root, kinds, origin, summary, report


def _reported(line: dict) -> bool:
    return line["status"] == "failed" or "damaged_input" in line["flags"] or bool(line.get("warnings"))


def test_corpus_is_big_and_every_file_has_a_report_line(corpus):
    _, kinds, _, summary, report = corpus
    assert sum(k != "valid" for k in kinds.values()) >= 500
    assert set(report) == set(kinds)
    assert summary.processed + summary.failed == len(kinds)


def test_nothing_crashes(corpus):
    _, _, _, _, report = corpus
    crashes = {p: d["error"] for p, d in report.items()
               if d["status"] == "failed" and _CRASH.search(d["error"] or "")}
    assert crashes == {}


def test_every_detectably_damaged_file_is_reported(corpus):
    _, kinds, _, _, report = corpus
    missed = [p for p, k in kinds.items() if k == "bad" and not _reported(report[p])]
    assert missed == []


def test_sound_odd_files_are_processed_without_complaint(corpus):
    root, kinds, _, _, report = corpus
    wrong = {p: (report[p]["status"], report[p]["error"], report[p].get("warnings"))
             for p, k in kinds.items() if k == "valid"
             and (report[p]["status"] != "ok" or report[p].get("warnings"))}
    assert wrong == {}
    for p, k in kinds.items():
        if k == "valid":
            for out in report[p]["outputs"]:
                assert (root / "out" / out).stat().st_size > 0


def test_unchecked_flips_are_processed_and_many_caught(corpus):
    # Flips in data without a checksum: where no decoder complains they are processed like any
    # file (bench/bench_corpus.py splits them into harmless and undetectable ones).
    _, kinds, _, _, report = corpus
    blind = [p for p, k in kinds.items() if k == "blind"]
    caught = [p for p in blind if _reported(report[p])]
    assert len(caught) >= len(blind) // 4
    assert all(report[p]["status"] == "ok" for p in blind if p not in caught)
